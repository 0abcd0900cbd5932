# SPDX-License-Identifier: Apache-2.0
"""`llmledger reprice`: cost stored calls again from their stored tokens, at the prices in force at each call's
instant (the price file, refreshed genai-prices data, or the file given with --prices).

  llmledger reprice --since 2026-11-01 --dry-run          # the change by model, nothing written
  llmledger reprice --since 30d --model 'gpt-4o*' --reason 'negotiated discount' --prices discount.yaml

Each call whose cost changes gets a new version of its row, never an edit; the rollups and every named query move
by exactly the change; `llm_repricing_runs` records when, why, with which prices, and the old and new totals.
Running it again changes nothing; a run cut short (even by kill -9) is finished by the next one. Costs a provider
reported are the bill and are left alone, as are calls whose stored cost their stored tokens do not explain
(one-hour cache writes, a service tier: llm_calls does not keep them). See docs/repricing.md.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any

from ._instants import iso
from ._options import UsageError, add_connection_options, connection_settings, reports_errors, require_data
from ._price_options import add_period_options, period
from ._table import count, render, usd

if TYPE_CHECKING:
    from ..repricing import Outcome


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "reprice",
        help="cost stored calls again at the prices in force (or a given price file), with an audit trail",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_period_options(parser, since_default=None)
    parser.add_argument("--model", default="", metavar="GLOB", help="only models matching GLOB (* and ?) [all]")
    parser.add_argument(
        "--prices", metavar="FILE", help="price with this override file (then genai-prices) [$LLMLEDGER_PRICES_FILE]"
    )
    parser.add_argument("--dry-run", action="store_true", help="print the change by model; write nothing")
    parser.add_argument("--reason", default="", metavar="TEXT", help="why, for the audit row")
    parser.add_argument("--batch-size", type=int, default=5000, metavar="N", help="calls per insert [5000]")
    add_connection_options(parser)
    parser.set_defaults(func=reports_errors(run))


def run(args: argparse.Namespace) -> int:
    from ..exporters.clickhouse.settings import open_client
    from ..repricing import Repricer, Window

    since, until = period(args)
    if args.batch_size < 1:
        raise UsageError("--batch-size must be at least 1")
    source = _use_prices(args.prices)
    window = Window(since, until, args.model)
    with open_client(require_data(connection_settings(args))) as client:
        repricer = Repricer(client, batch_size=args.batch_size, progress=_progress_bar())
        if args.dry_run:
            outcome = repricer.plan(window)
        else:
            command = " ".join(["llmledger", *sys.argv[1:]]) if sys.argv else "llmledger reprice"
            outcome = repricer.run(window, reason=args.reason, price_source=source, command=command)
    _clear_progress()
    print(_report(outcome, window, source, dry_run=args.dry_run))
    return 0


def _use_prices(path: str | None) -> str:
    """Make `path` the override file of this process's lookups; where the prices come from, in one line."""
    from pathlib import Path

    from llmledger._core import price_data, prices

    if path:
        try:
            entries = prices.load_price_file(Path(path))
        except prices.PriceFileError as error:
            raise UsageError(f"--prices {error}") from None
        os.environ[prices.PRICES_FILE_ENV] = path
        prices.reload()
        version = entries[0].price.version if entries else path
        return f"price file {path} ({version}), then {price_data.in_force().describe()}"
    named = os.environ.get(prices.PRICES_FILE_ENV)
    data = price_data.in_force().describe()
    return f"price file {named} ({prices.PRICES_FILE_ENV}), then {data}" if named else data


def _report(outcome: Outcome, window: Any, source: str, *, dry_run: bool) -> str:
    what = "would change" if dry_run else "changed"
    lines = [
        f"Calls from {iso(window.since_ns)} to {iso(window.until_ns)}"
        + (f", models {window.model_glob}" if window.model_glob else "")
    ]
    lines.append(f"  prices: {source}")
    if outcome.resumed:
        finished = "would first finish" if dry_run else "first finished"
        lines.append(f"  {finished} {count(outcome.resumed)} calls journaled by an interrupted run")
    changes = sorted(outcome.by_model.values(), key=lambda c: (-abs(c.new_total - c.old_total), c.provider, c.model))
    if changes:
        rows = [
            [
                c.provider,
                c.model,
                count(c.calls),
                usd(_units(c.old_total)),
                usd(_units(c.new_total)),
                _signed(_units(c.new_total - c.old_total)),
            ]
            for c in changes
        ]
        lines.append(render(["provider", "model", "calls", "old", "new", "change"], rows))
    lines.append(
        f"{count(outcome.examined)} calls examined; {count(outcome.calls)} {what} cost: "
        f"{usd(outcome.old_total)} → {usd(outcome.new_total)} ({_signed(outcome.new_total - outcome.old_total)})"
    )
    if outcome.unpriced:
        lines.append(f"  {count(outcome.unpriced)} calls still have no price")
    if outcome.unreproducible:
        lines.append(
            f"  {count(outcome.unreproducible)} calls kept their cost: their price does not give it from the tokens "
            "stored (one-hour cache writes or a service tier)"
        )
    if not dry_run and outcome.run_id:
        lines.append(f"  audit: run {outcome.run_id} in llm_repricing_runs")
    return "\n".join(lines)


def _units(units: int) -> Any:
    from decimal import Decimal

    return Decimal(units).scaleb(-12)


def _signed(value: Any) -> str:
    return ("+" if value >= 0 else "-") + usd(abs(value))


def _progress_bar() -> Any:
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        width = 30
        filled = width * done // total if total else width
        sys.stderr.write(f"\rre-pricing [{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} calls")
        sys.stderr.flush()

    return show


def _clear_progress() -> None:
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K")
        sys.stderr.flush()
