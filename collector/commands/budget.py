# SPDX-License-Identifier: Apache-2.0
"""`llmledger budget status`: where every budget of the budget file stands, from ClickHouse.

The same numbers as the collector's `GET /v1/budgets/status` (the same query), read directly: spend in the
current window, the share of the limit, burn rate and the projection to the window's end.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from ._options import UsageError, add_connection_options, connection_settings, reports_errors, require_data
from ._table import render, usd

BUDGETS_FILE_VARIABLE = "LLMLEDGER_BUDGETS_FILE"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("budget", help="shared budgets: where each one stands")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    status = actions.add_parser(
        "status",
        help="print spend, limit, burn rate and projection of every budget in its current window",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    status.add_argument(
        "--budgets-file", metavar="FILE", help=f"the budget file (YAML/JSON) [${BUDGETS_FILE_VARIABLE}]"
    )
    status.add_argument("--format", choices=("table", "json"), default="table", help="output format [table]")
    add_connection_options(status)
    status.set_defaults(func=reports_errors(run_status))


def run_status(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from llmledger._core.budget_file import BudgetFileError, load

    from ..budgets import read_status, status_document
    from ..exporters.clickhouse.settings import open_client

    path = args.budgets_file or os.environ.get(BUDGETS_FILE_VARIABLE)
    if not path:
        raise UsageError(f"no budget file: pass --budgets-file FILE or set ${BUDGETS_FILE_VARIABLE}")
    try:
        budgets = load(path)
    except BudgetFileError as error:
        raise UsageError(str(error)) from None
    now = datetime.now(UTC)
    with open_client(require_data(connection_settings(args))) as client:
        statuses = read_status(client, budgets, now)
    if args.format == "json":
        print(json.dumps(status_document(statuses, now), indent=2))
        return 0
    windows = {budget.name: budget.window.describe() for budget in budgets.budgets}
    rows = [
        [
            status.name,
            " ".join(f"{dim}={value or '-'}" for dim, value in status.key.items()) or "-",
            windows.get(status.name, "?"),
            status.window_start.strftime("%Y-%m-%d %H:%M"),
            usd(status.spent_usd),
            usd(status.limit_usd),
            f"{status.fraction * 100:.1f}%",
            usd(status.burn_rate_usd_per_hour),
            usd(status.projected_usd),
            status.action,
        ]
        for status in statuses
    ]
    print(f"Budgets of {path} at {now:%Y-%m-%d %H:%M:%S} UTC")
    if not rows:
        print("  (no budgets in the file)")
        return 0
    headers = ["budget", "key", "window", "since (UTC)", "spent", "limit", "used", "burn/h", "projected", "action"]
    print(render(headers, rows))
    return 0
