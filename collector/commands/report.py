# SPDX-License-Identifier: Apache-2.0
"""`llmledger report`: where the money went — spend by model, provider, service and day, the most expensive
traces (with Jaeger links), cache savings, and the calls nobody could price.

Read from the rollups (and `llm_trace_costs`), so a report stays fast on months of data. Unpriced calls are
listed separately because their cost is unknown, not zero: the totals above them leave them out.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from ._options import UsageError, add_connection_options, connection_settings, reports_errors, require_data
from ._table import count, render, usd

_SINCE = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}

_FILTER = "({tenant:String} = '' OR Tenant = {tenant:String})"
_HOURLY = f"FROM llm_usage_hourly WHERE {_FILTER} AND Hour >= toStartOfHour(now() - toIntervalSecond({{since:UInt64}}))"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report",
        help="print where the LLM spend went",
        description="Spend by model, provider, service and day, the most expensive traces, cache savings and "
        "unpriced calls, over a recent period.",
    )
    parser.add_argument("--since", default="7d", metavar="AGE", help="period to cover: 30m, 24h, 7d, 4w [7d]")
    parser.add_argument("--tenant", default="", metavar="NAME", help="only this tenant [all]")
    parser.add_argument(
        "--traces", type=int, default=10, metavar="N", help="how many costly traces begun in it to list [10]"
    )
    parser.add_argument("--jaeger-url", metavar="URL", help="Jaeger UI base URL, to link traces as URL/trace/<id>")
    add_connection_options(parser)
    parser.set_defaults(func=reports_errors(run))


def parse_since(text: str) -> int:
    """Seconds in an age like `7d`; UsageError for anything else."""
    match = _SINCE.match(text)
    if not match or int(match.group(1)) == 0:
        raise UsageError(f"--since {text!r} is not an age like 30m, 24h, 7d or 4w")
    return int(match.group(1)) * _SECONDS[match.group(2)]


def run(args: argparse.Namespace) -> int:
    from llmledger.collector.clickhouse.client import translate_errors
    from llmledger.collector.clickhouse.settings import open_client

    if args.traces < 0:
        raise UsageError("--traces must not be negative")
    params = {"since": parse_since(args.since), "tenant": args.tenant, "limit": args.traces}
    with open_client(require_data(connection_settings(args))) as client, translate_errors():

        def rows(sql: str) -> Sequence[Sequence[Any]]:
            result: Sequence[Sequence[Any]] = client.query(sql, parameters=params).result_rows
            return result

        print(_build(rows, args))
    return 0


def _build(rows: Any, args: argparse.Namespace) -> str:
    out: list[str] = []
    scope = f"tenant {args.tenant}" if args.tenant else "all tenants"
    out.append(f"LLM spend over the last {args.since.strip()} ({scope})")

    ((spend, calls, input_tokens, output_tokens, unpriced),) = rows(
        f"SELECT sum(TotalCost), sum(Calls), sum(InputTokens), sum(OutputTokens), sum(UnpricedCalls) {_HOURLY}"
    )
    out.append(
        f"\nTotal spend {usd(spend)} in {count(calls)} calls "
        f"({count(input_tokens)} input tokens, {count(output_tokens)} output tokens)"
    )
    if not calls:
        out.append("\nNo LLM calls recorded in this period.")
        return "\n".join(out)

    by_model = rows(
        "SELECT Provider, Model, sum(Calls), sum(InputTokens), sum(OutputTokens), sum(TotalCost) "
        f"{_HOURLY} GROUP BY Provider, Model ORDER BY sum(TotalCost) DESC, Provider, Model"
    )
    out.append(
        _section(
            "Spend by model",
            ["provider", "model", "calls", "input tokens", "output tokens", "spend"],
            [[p or "-", m or "-", count(c), count(i), count(o), usd(s)] for p, m, c, i, o, s in by_model],
        )
    )

    by_provider = rows(
        f"SELECT Provider, sum(Calls), sum(TotalCost) {_HOURLY} "
        "GROUP BY Provider ORDER BY sum(TotalCost) DESC, Provider"
    )
    out.append(
        _section(
            "Spend by provider",
            ["provider", "calls", "spend"],
            [[p or "-", count(c), usd(s)] for p, c, s in by_provider],
        )
    )

    by_service = rows(
        f"SELECT ServiceName, Environment, sum(Calls), sum(TotalCost) {_HOURLY} "
        "GROUP BY ServiceName, Environment ORDER BY sum(TotalCost) DESC, ServiceName, Environment"
    )
    out.append(
        _section(
            "Spend by service",
            ["service", "environment", "calls", "spend"],
            [[s or "-", e or "-", count(c), usd(v)] for s, e, c, v in by_service],
        )
    )

    by_day = rows(f"SELECT toDate(Hour) AS day, sum(Calls), sum(TotalCost) {_HOURLY} GROUP BY day ORDER BY day")
    out.append(
        _section("Spend by day (UTC)", ["day", "calls", "spend"], [[str(d), count(c), usd(s)] for d, c, s in by_day])
    )

    if args.traces:
        traces = rows(
            "SELECT TraceId, sum(TotalCost) AS spend, sum(Calls), arraySort(groupUniqArrayArray(Models)), "
            "max(ServiceName) FROM llm_trace_costs "
            f"WHERE {_FILTER} AND Day >= toDate(now() - toIntervalSecond({{since:UInt64}})) AND TraceId != '' "
            # On the trace's first call, not on each row: rows of one trace are folded only as parts merge.
            "GROUP BY TraceId HAVING min(Start) >= now() - toIntervalSecond({since:UInt64}) "
            "ORDER BY spend DESC, TraceId LIMIT {limit:UInt32}"
        )
        headers = ["trace", "spend", "calls", "models", "service"]
        table = [[t, usd(s), count(c), ", ".join(m) or "-", svc or "-"] for t, s, c, m, svc in traces]
        if args.jaeger_url:
            base = args.jaeger_url.rstrip("/")
            headers.append("link")
            for row in table:
                row.append(f"{base}/trace/{row[0]}")
        out.append(_section("Most expensive traces", headers, table))

    ((savings, cache_read, all_input),) = rows(
        f"SELECT sum(CacheSavings), sum(CacheReadInputTokens), sum(InputTokens) {_HOURLY}"
    )
    share = Decimal(cache_read) / Decimal(all_input) * 100 if all_input else Decimal(0)
    out.append(f"\nCache savings: {usd(savings)} saved; {share:.1f}% of input tokens were cache reads")
    if savings or cache_read:
        by_cache = rows(
            f"SELECT Provider, Model, sum(CacheReadInputTokens), sum(CacheSavings) {_HOURLY} "
            "GROUP BY Provider, Model HAVING sum(CacheReadInputTokens) > 0 OR sum(CacheSavings) != 0 "
            "ORDER BY sum(CacheSavings) DESC, Provider, Model"
        )
        out.append(
            render(
                ["provider", "model", "cache read tokens", "saved"],
                [[p or "-", m or "-", count(t), usd(s)] for p, m, t, s in by_cache],
            )
        )

    if unpriced:
        by_unpriced = rows(
            f"SELECT Provider, Model, sum(UnpricedCalls), sum(InputTokens), sum(OutputTokens) {_HOURLY} "
            "GROUP BY Provider, Model HAVING sum(UnpricedCalls) > 0 ORDER BY sum(UnpricedCalls) DESC, Provider, Model"
        )
        out.append(
            _section(
                f"Unpriced calls: {count(unpriced)} calls have no known price; their cost is NOT in the totals above",
                ["provider", "model", "unpriced calls", "input tokens", "output tokens"],
                [[p or "-", m or "-", count(c), count(i), count(o)] for p, m, c, i, o in by_unpriced],
            )
        )
        out.append("  (tokens are of all calls of these models; add prices with LLMLEDGER_PRICES_FILE)")
    else:
        out.append("\nUnpriced calls: none")
    return "\n".join(out)


def _section(title: str, headers: list[str], table: list[list[str]]) -> str:
    return f"\n{title}\n" + (render(headers, table) if table else "  (none)")
