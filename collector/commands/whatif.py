# SPDX-License-Identifier: Apache-2.0
"""`llmledger whatif`: what a period would have cost had some models' calls gone to other models.

  llmledger whatif --swap 'gpt-4o=gpt-4o-mini' --since 30d --by service
  llmledger whatif --swap 'claude-sonnet-4=anthropic:claude-haiku-4-5' --swap 'gpt-4o=gpt-4.1-mini' --by feature

Every call of a swapped model keeps its tokens and is costed as the other model prices them at the call's instant
(cache rates and long-context tiers included); other calls keep their cost. Actual, what-if and saving side by
side. A model swapped for itself gives the actual spend (exactly, for calls the collector priced). MODEL is the
model as reports group by it (`llmledger sql --query spend_by_model`); OTHER may name a provider first
(`openai:gpt-4o`). See docs/repricing.md.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from ._instants import iso
from ._options import add_connection_options, connection_settings, reports_errors, require_data
from ._price_options import add_period_options, period
from ._table import count, render, usd

# What --by can group by: `repricing.whatif.DIMENSIONS` (not imported here, so `llmledger --help` stays fast).
BY = ("model", "provider", "service", "feature", "user", "tenant")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "whatif",
        help="history re-costed as if some models' calls had gone to other models: actual, what-if, saving",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--swap", action="append", required=True, metavar="MODEL=OTHER", help="cost MODEL's calls as OTHER's"
    )
    add_period_options(parser, since_default="30d")
    parser.add_argument("--by", choices=BY, default="model", help="group by [model]")
    parser.add_argument("--format", "-f", choices=("table", "json"), default="table", help="output format [table]")
    add_connection_options(parser)
    parser.set_defaults(func=reports_errors(run))


def run(args: argparse.Namespace) -> int:
    from ..exporters.clickhouse.settings import open_client
    from ..repricing import Swap, what_if

    since, until = period(args)
    swaps = [Swap.parse(text) for text in args.swap]
    with open_client(require_data(connection_settings(args))) as client:
        result = what_if(client, swaps, since, until, by=args.by)
    lines = [*result.lines, result.total]
    if args.format == "json":
        document = {
            "since": iso(since),
            "until": iso(until),
            "swaps": [
                {"model": s.source, "as": s.target, **({"provider": s.provider} if s.provider else {})} for s in swaps
            ],
            "by": args.by,
            "rows": [
                {
                    args.by: line.key,
                    "calls": line.calls,
                    "swapped_calls": line.swapped,
                    "actual_usd": str(line.actual_usd),
                    "whatif_usd": str(line.hypothetical_usd),
                    "saving_usd": str(line.saving_usd),
                }
                for line in result.lines
            ],
            "total": {
                "calls": result.total.calls,
                "swapped_calls": result.total.swapped,
                "actual_usd": str(result.total.actual_usd),
                "whatif_usd": str(result.total.hypothetical_usd),
                "saving_usd": str(result.total.saving_usd),
            },
            "swapped_calls_without_target_price": result.no_target_price,
            "swapped_calls_unpriced": result.unpriced,
        }
        print(json.dumps(document, indent=2))
        return 0
    swapped = ", ".join(f"{s.source} → {f'{s.provider}:' if s.provider else ''}{s.target}" for s in swaps)
    print(f"Calls from {iso(since)} to {iso(until)}, {swapped}, by {args.by}")
    rows = [
        [
            line.key or "-",
            count(line.calls),
            count(line.swapped),
            usd(line.actual_usd),
            usd(line.hypothetical_usd),
            _signed(line.saving_usd),
            f"{line.saving_usd / line.actual_usd * 100:.1f}%" if line.actual else "-",
        ]
        for line in lines
    ]
    print(render([args.by, "calls", "swapped", "actual", "what-if", "saving", "saving %"], rows))
    if result.no_target_price:
        print(f"  {count(result.no_target_price)} swapped calls kept their cost: no price for the other model then")
    if result.unpriced:
        print(f"  {count(result.unpriced)} swapped calls had no price of their own: their saving is not known")
    return 0


def _signed(value: Any) -> str:
    return ("-" if value < 0 else "") + usd(abs(value))
