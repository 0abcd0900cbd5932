# SPDX-License-Identifier: Apache-2.0
"""`llmledger prices show|refresh`: the price a call to a model gets and where it came from; newer price data.

  llmledger prices show deepseek-chat --provider deepseek --at 2026-12-06T17:00Z
  llmledger prices refresh

`show` asks the lookup the instrumentation and the collector use, with the same price file
($LLMLEDGER_PRICES_FILE) and genai-prices data ($LLMLEDGER_PRICES_DATA, the data directory, or the bundled
snapshot); it exits 1 when the model has no price. `refresh` (never run by itself) downloads genai-prices' newest
data file, checks it, and writes it into the data directory, where apps and collectors started afterwards find it.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._options import EXIT_FAILURE, EXIT_USAGE, add_data_dir_option

if TYPE_CHECKING:
    from llmledger._core.price_explain import Explanation
    from llmledger._core.prices import ModelPrice, Rate


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "prices",
        help="the price a model gets and where it came from; newer genai-prices data",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    show = actions.add_parser(
        "show",
        help="print the price in force for a model, and where it came from",
        description="Print the price a call to MODEL started at TIME pays, as the instrumentation and the collector "
        "would charge it, and where it came from: the price file and its entry, a refreshed data file, or the "
        "bundled genai-prices snapshot and how recent it is.",
    )
    show.add_argument("model", metavar="MODEL", help="the model as a call names it, e.g. gpt-4o-mini-2024-07-18")
    show.add_argument(
        "--provider",
        metavar="P",
        default="",
        help="gen_ai.provider.name as spans carry it: openai, anthropic, aws.bedrock, gcp.vertex_ai, deepseek, "
        "together, … [any: the provider genai-prices matches the model to]",
    )
    show.add_argument("--at", metavar="TIME", help="ISO 8601 instant, e.g. 2026-12-06T17:00Z; no zone: UTC [now]")
    add_data_dir_option(show)
    show.set_defaults(func=run_show)
    refresh = actions.add_parser(
        "refresh",
        help="download genai-prices' newest data file into the data directory (checked first)",
        description="Download genai-prices' newest data file, check it (JSON in genai-prices' schema, model "
        "prices in it, every provider llmledger prices, no older than the data in place) and write it atomically "
        "to prices/genai-prices.json in the data directory (or to $LLMLEDGER_PRICES_DATA when that names a file). "
        "A file that fails a check is refused and the data in place is kept.",
    )
    refresh.add_argument("--url", metavar="URL", help="where to download from [genai-prices' published file]")
    refresh.add_argument(
        "--force", action="store_true", help="take a file older than the data in place, or missing providers"
    )
    refresh.add_argument("--timeout", metavar="SECONDS", type=float, default=30.0, help="download timeout [30]")
    add_data_dir_option(refresh)
    refresh.set_defaults(func=run_refresh)


def run_show(args: argparse.Namespace) -> int:
    from llmledger._core import price_data
    from llmledger._core.price_explain import explain

    try:
        at = _instant(args.at)
    except ValueError as error:
        print(f"llmledger prices show: {error}", file=sys.stderr)
        return EXIT_USAGE
    if args.data_dir:
        price_data.use_data_dir(Path(args.data_dir).expanduser())
    _report_unusable_files()
    explanation = explain(args.model, args.provider, at)
    print(render(explanation))
    return 0 if explanation.price is not None else EXIT_FAILURE


def run_refresh(args: argparse.Namespace) -> int:
    from llmledger._core import price_data
    from llmledger._core.price_refresh import RefreshError, refresh

    directory = Path(args.data_dir).expanduser() if args.data_dir else None
    named, chosen_by = price_data.chosen_file(directory)
    target = named if named is not None else price_data.default_file(directory)
    try:
        done = refresh(target, args.url, force=args.force, timeout=args.timeout)
    except RefreshError as error:
        print(f"llmledger prices refresh: {error}", file=sys.stderr)
        return EXIT_FAILURE
    dated = f"prices dated up to {done.dated_to}" if done.dated_to else "no dated prices"
    what = f"{done.providers} providers, {done.models:,} models, {dated}"
    print(f"{'unchanged' if done.unchanged else 'wrote'} {done.path}: {what}")
    print(f"  from      {done.url}")
    print(f"  replaces  {done.replaced}")
    if chosen_by.startswith(price_data.PRICES_DATA_ENV + "="):
        print(f"Not used while {chosen_by}: unset it to price with this file.")
    else:
        print("Apps and collectors started from now on price with it; restart running ones to use it.")
    return 0


def _instant(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"--at {text!r} is not an ISO 8601 time, e.g. 2026-12-06T17:00Z or 2026-12-06") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _report_unusable_files() -> None:
    """Say on stderr, once, what the lookup would log: a price file or data file it prices without."""
    import logging
    import os

    from llmledger._core import price_data, prices

    logging.getLogger("llmledger._core").addHandler(logging.NullHandler())  # said here, not again by the lookup
    path = os.environ.get(prices.PRICES_FILE_ENV)
    if path:
        try:
            prices.load_price_file(Path(path))
        except prices.PriceFileError as error:
            print(f"llmledger prices show: {prices.describe(error)}; pricing without it", file=sys.stderr)
    named, chosen_by = price_data.chosen_file()
    if named is not None:
        try:
            price_data.read_file(named, chosen_by)
        except price_data.DataFileError as error:
            print(f"llmledger prices show: {error}; pricing with the bundled snapshot", file=sys.stderr)


def render(explanation: Explanation) -> str:
    """The answer as `show` prints it: a heading line, then one labelled line per fact."""
    heading = f"{explanation.model} at {explanation.provider or 'any provider'}, {explanation.at:%Y-%m-%d %H:%M:%S} UTC"
    price = explanation.price
    if price is None:
        return "\n".join(
            (
                f"{heading}: no price; its calls are unpriced (llmledger.cost.unpriced), never $0",
                f"  looked in  {explanation.source}",
            )
        )
    lines = [
        heading,
        f"  price      {_rates(price)}",
        f"  model      {price.model} (provider {price.provider})",
        f"  in force   {_window(explanation)}",
    ]
    if explanation.valid_from:
        lines.append(f"  valid from {explanation.valid_from}")
    lines.append(f"  source     {explanation.source}")
    return "\n".join(lines)


def _rates(price: ModelPrice) -> str:
    parts = [("input", price.input), ("cache read", price.cache_read), ("cache write", price.cache_write)]
    parts += [("1-hour cache write", price.cache_write_1h), ("output", price.output)]
    shown = " · ".join(f"{name} {_rate(rate)}" for name, rate in parts if rate is not None)
    search_unit = getattr(price, "search_unit", None)
    per_search = f" · {_number(search_unit)} USD per search unit" if search_unit is not None else ""
    return f"{shown} USD per million tokens{per_search}"


def _rate(rate: Rate) -> str:
    if isinstance(rate, Decimal):
        return _number(rate)
    tiers = ", ".join(f"{_number(price)} above {start:,} input tokens" for start, price in rate.tiers)
    return f"{_number(rate.base)} ({tiers})"


def _number(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _window(explanation: Explanation) -> str:
    since, until = explanation.since, explanation.until
    if since is None and until is None:
        return "all day (no time-of-day price)"
    sides = [f"from {since:%Y-%m-%d %H:%M} UTC" if since else "", f"until {until:%Y-%m-%d %H:%M} UTC" if until else ""]
    return f"{' '.join(side for side in sides if side)} (a time-of-day price)"
