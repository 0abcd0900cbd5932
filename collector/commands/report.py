# SPDX-License-Identifier: Apache-2.0
"""`llmledger report`: where the money went — spend by model, provider, service and day, the most expensive
traces (with Jaeger links), cache savings, and the calls nobody could price.

Read from the rollups (and `llm_trace_costs`), so a report stays fast on months of data. Two kinds of calls
whose cost is unknown, not zero, are listed apart from the totals, from `llm_calls` (few rows, found by its
`CostSource` index): calls of models nobody has a price for (add one to the price file), and calls whose usage
never arrived, such as streams that ended before their usage chunk (`llmledger.usage.complete = false`), grouped
by provider and by host (the span's `server.address`, which the collector stores on such calls); a price file
cannot help those, so they are not listed as unpriced. The queries go through the light HTTP client
(`http_query`), the independent ones at once (`collect`). `--format` prints the same report as a table (default),
JSON, JSON lines or CSV (`_report_formats`).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable, Sequence
from decimal import Decimal, localcontext
from typing import TYPE_CHECKING, Any, NamedTuple

from ._options import (
    OUTPUT_FORMATS,
    UsageError,
    add_connection_options,
    connection_settings,
    reports_errors,
    require_data,
)

if TYPE_CHECKING:  # imported where the report is made: registering the command (`llmledger --help`) needs none
    from ._report_formats import Report

_SINCE = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}

_FILTER = "({tenant:String} = '' OR Tenant = {tenant:String})"
_HOURLY = f"FROM llm_usage_hourly WHERE {_FILTER} AND Hour >= toStartOfHour(now() - toIntervalSecond({{since:UInt64}}))"
# The calls of the rollup rows `_HOURLY` reads: the same hours, from the fact table (FINAL: one version of each
# call, the latest, as the rollups count it once a call is re-priced).
_CALLS = (
    f"FROM llm_calls FINAL WHERE {_FILTER} AND Timestamp >= toStartOfHour(now() - toIntervalSecond({{since:UInt64}}))"
)
# FINAL within each partition, not across, which gives the same rows: the rows FINAL folds into one share the whole
# sorting key, toDate(Timestamp) included, which fixes the month partition; and a month already merged into one
# part then needs no folding at all.
_FINAL_SETTINGS = "SETTINGS do_not_merge_across_partitions_select_final = 1"
_SERVER_ATTRIBUTE = "server.address"  # in Attributes of every call whose usage never arrived
JAEGER_URL_ENV = "LLMLEDGER_JAEGER_URL"  # --jaeger-url, set once for every report

# Runs independent queries (all at once) and gives each one's rows, in order.
Ask = Callable[[Sequence[str]], list[Sequence[Sequence[Any]]]]


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
    parser.add_argument(
        "--jaeger-url",
        metavar="URL",
        help=f"Jaeger UI base URL, to link traces as URL/trace/<id> [${JAEGER_URL_ENV}]",
    )
    parser.add_argument(
        "--format",
        "-f",
        choices=OUTPUT_FORMATS,
        default="table",
        help="output format: table, csv, json (one document) or jsonl / jsonlines (one record a line) [table]",
    )
    parser.add_argument(
        "--html",
        metavar="FILE",
        help="write the dashboard's views as one self-contained HTML file (charts included, no network) instead",
    )
    add_connection_options(parser)
    parser.set_defaults(func=reports_errors(run))


def parse_since(text: str) -> int:
    """Seconds in an age like `7d`; UsageError for anything else."""
    match = _SINCE.match(text)
    if not match or int(match.group(1)) == 0:
        raise UsageError(f"--since {text!r} is not an age like 30m, 24h, 7d or 4w")
    return int(match.group(1)) * _SECONDS[match.group(2)]


def run(args: argparse.Namespace) -> int:
    from ..exporters.clickhouse.settings import open_query
    from ._report_formats import render

    if args.traces < 0:
        raise UsageError("--traces must not be negative")
    seconds = parse_since(args.since)
    args.jaeger_url = args.jaeger_url or os.environ.get(JAEGER_URL_ENV) or None
    params = {"since": seconds, "tenant": args.tenant, "limit": args.traces}
    if args.html:
        return write_html(args, seconds)
    with open_query(require_data(connection_settings(args))) as client:
        report = collect(lambda queries: _concurrently(client.rows, queries, params), args, seconds)
    print(render(report, args.format))
    if report.empty and args.format != "table":  # the table says it; machine output stays parseable
        print(f"no LLM calls in the last {args.since.strip()} ({report.scope})", file=sys.stderr)
    return 0


def _concurrently(
    rows: Callable[[str, dict[str, Any]], Sequence[Sequence[Any]]], queries: Sequence[str], params: dict[str, Any]
) -> list[Sequence[Sequence[Any]]]:
    """The rows of each of `queries`, asked all at once (one thread and one request each); the first error."""
    import threading

    results: list[Sequence[Sequence[Any]]] = [() for _ in queries]
    errors: list[BaseException] = []

    def ask(index: int, sql: str) -> None:
        try:
            results[index] = rows(sql, params)
        except BaseException as error:  # handed to the caller's thread below
            errors.append(error)

    threads = [threading.Thread(target=ask, args=item, daemon=True) for item in enumerate(queries[1:], 1)]
    for thread in threads:
        thread.start()
    if queries:
        ask(0, queries[0])
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def write_html(args: argparse.Namespace, seconds: int) -> int:
    """`--html FILE`: every view of the dashboard for whole days covering `--since`, in one file."""
    from pathlib import Path

    from ..dashboard import VIEWS, Filters, client_runner, collect, page_html
    from ..exporters.clickhouse.settings import open_client

    days = max(1, -(-seconds // 86400))  # the named queries count in days: 24h is 1, 36h is 2
    target = Path(args.html)
    if target.is_dir():
        raise UsageError(f"--html {args.html}: is a directory; give a file name")
    with open_client(require_data(connection_settings(args))) as client:
        document = collect(
            client_runner(client), Filters(days=days, tenant=args.tenant), views=VIEWS, jaeger_url=args.jaeger_url or ""
        )
    try:
        target.write_bytes(page_html(data=document))
    except OSError as error:
        raise UsageError(f"--html {args.html}: cannot write it: {error.strerror or error}") from None
    scope = f"tenant {args.tenant}" if args.tenant else "all tenants"
    print(f"llmledger report: wrote {target} (the last {days} day(s), {scope})", file=sys.stderr)
    return 0


def collect(ask: Ask, args: argparse.Namespace, seconds: int) -> Report:
    """Run the report's queries; every list is present in the result, empty when there are no calls.

    One read of the hourly rollup by provider and model gives the totals, the spend by model and by provider and
    the cache savings (summed here: Decimal sums are exact); it, the spend by service, by day, the costly traces and
    the unpriced calls (from `llm_calls`, by its CostSource index) are asked at once. The calls whose usage never
    arrived, which no index finds, are read from `llm_calls` after, only when the totals count some.
    """
    from ._report_formats import Report, Section

    # From the day before the period's first: a trace that began the evening before has rows there, and its first
    # call must be seen to leave it out.
    trace_rows = (
        f"FROM llm_trace_costs WHERE {_FILTER} AND Day >= toDate(now() - toIntervalSecond({{since:UInt64}})) - 1 "
        "AND TraceId != ''"
    )
    traces_sql = (
        "SELECT TraceId, sum(TotalCost) AS spend, sum(Calls), arraySort(groupUniqArrayArray(Models)), "
        f"max(ServiceName) {trace_rows} "
        # The costliest first, found by spend alone; their models and service then read for those few only (the
        # model arrays of every trace of the period are what made this query slow).
        f"AND TraceId IN (SELECT TraceId {trace_rows} GROUP BY TraceId "
        # On the trace's first call, not on each row: rows of one trace are folded only as parts merge.
        "HAVING min(Start) >= now() - toIntervalSecond({since:UInt64}) "
        "ORDER BY sum(TotalCost) DESC, TraceId LIMIT {limit:UInt32}) "
        "GROUP BY TraceId ORDER BY spend DESC, TraceId "
        # On a cluster each shard sums its own traces (sharded by trace) and sends its costliest, as trace_costs.
        "SETTINGS optimize_skip_unused_shards = 1"
    )
    unpriced_sql = (
        f"SELECT Provider, Model, count(), sum(InputTokens), sum(OutputTokens) {_CALLS} "
        "AND CostSource = 'unpriced' AND UsageComplete "
        f"GROUP BY Provider, Model ORDER BY count() DESC, Provider, Model {_FINAL_SETTINGS}"
    )
    missing_sql = (
        f"SELECT Provider, Attributes['{_SERVER_ATTRIBUTE}'] AS server, count(), countIf(IsStreaming), "
        f"arraySort(groupUniqArray(Model)) {_CALLS} AND NOT UsageComplete "
        f"GROUP BY Provider, server ORDER BY count() DESC, Provider, server {_FINAL_SETTINGS}"
    )
    # The unpriced calls are asked with the rest, not after: their CostSource index makes the query cheap when there
    # are none, and saves a round when there are some.
    by_model_rows, by_service_rows, by_day_rows, unpriced_rows, *found_traces = ask(
        [
            "SELECT Provider, Model, sum(Calls), sum(InputTokens), sum(OutputTokens), sum(TotalCost), "
            f"sum(CacheReadInputTokens), sum(CacheSavings), sum(UnpricedCalls), sum(IncompleteUsageCalls) {_HOURLY} "
            "GROUP BY Provider, Model",
            f"SELECT ServiceName, Environment, sum(Calls), sum(TotalCost) {_HOURLY} "
            "GROUP BY ServiceName, Environment ORDER BY sum(TotalCost) DESC, ServiceName, Environment",
            f"SELECT toDate(Hour) AS day, sum(Calls), sum(TotalCost) {_HOURLY} GROUP BY day ORDER BY day",
            unpriced_sql,
            *((traces_sql,) if args.traces else ()),
        ]
    )
    groups = [_Group(*row) for row in by_model_rows]
    with localcontext(prec=_EXACT):
        spend = sum((group.spend for group in groups), Decimal(0))
        savings = sum((group.savings for group in groups), Decimal(0))
    calls, input_tokens, output_tokens, cache_read, unpriced, incomplete = (
        sum(getattr(group, name) for group in groups)
        for name in ("calls", "input_tokens", "output_tokens", "cache_read", "unpriced", "incomplete")
    )
    report = Report(
        args.since,
        seconds,
        args.tenant,
        total={
            "spend_usd": spend,
            "calls": calls,
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "unpriced_calls": 0,  # of models without a price, usage complete: from `llm_calls` below
            "usage_missing_calls": 0,
        },
    )
    by_model = report.add(
        Section(
            "spend_by_model",
            "Spend by model",
            ("provider", "model", "calls", "input_tokens", "output_tokens", "spend_usd"),
        )
    )
    by_provider = report.add(Section("spend_by_provider", "Spend by provider", ("provider", "calls", "spend_usd")))
    by_service = report.add(
        Section("spend_by_service", "Spend by service", ("service", "environment", "calls", "spend_usd"))
    )
    by_day = report.add(Section("spend_by_day", "Spend by day (UTC)", ("day", "calls", "spend_usd")))
    traces = report.add(
        Section(
            "traces",
            "Most expensive traces",
            ("trace_id", "spend_usd", "calls", "models", "service", *(("link",) if args.jaeger_url else ())),
        )
    )
    by_cache = report.add(
        Section("cache_savings", "Cache savings", ("provider", "model", "cache_read_input_tokens", "savings_usd"))
    )
    by_unpriced = report.add(
        Section(
            "unpriced",
            "Unpriced calls: {calls} calls have no known price; their cost is NOT in the totals above",
            ("provider", "model", "unpriced_calls", "input_tokens", "output_tokens"),
        )
    )
    usage_missing = report.add(
        Section(
            "usage_missing",
            "Usage missing on {calls}: they ended without reporting usage, so their tokens and cost are missing "
            "from the totals above",
            ("provider", "server", "calls", "streams", "models"),
        )
    )
    report.cache = {"savings_usd": Decimal(0), "cache_read_input_tokens": 0, "input_tokens": input_tokens}
    if report.empty:
        return report

    groups.sort(key=lambda group: (-group.spend, group.provider, group.model))
    by_model.rows = [
        (group.provider, group.model, group.calls, group.input_tokens, group.output_tokens, group.spend)
        for group in groups
    ]
    by_provider.rows = _by_provider(groups)
    by_service.rows = _tuples(by_service_rows)
    by_day.rows = _tuples(by_day_rows)
    if found_traces:
        base = (args.jaeger_url or "").rstrip("/")
        traces.rows = [
            (trace, spend, calls, list(models), service, *((f"{base}/trace/{trace}",) if args.jaeger_url else ()))
            for trace, spend, calls, models, service in found_traces[0]
        ]
    report.cache = {"savings_usd": savings, "cache_read_input_tokens": cache_read, "input_tokens": input_tokens}
    by_cache.rows = [
        (group.provider, group.model, group.cache_read, group.savings)
        for group in sorted(groups, key=lambda group: (-group.savings, group.provider, group.model))
        if group.cache_read > 0 or group.savings != 0
    ]
    if unpriced:  # of models without a price; a call without usage is `usage_missing`'s, whatever its model
        by_unpriced.rows = _tuples(unpriced_rows)
        report.total["unpriced_calls"] = sum(row[2] for row in by_unpriced.rows)
    if incomplete:
        usage_missing.rows = [
            (provider, server, calls, streams, list(models))
            for provider, server, calls, streams, models in ask([missing_sql])[0]
        ]
        report.total["usage_missing_calls"] = sum(row[2] for row in usage_missing.rows)
    return report


_EXACT = 76  # digits: sums of Decimal(38, 12) values never round


class _Group(NamedTuple):
    """One provider and model over the period, as the hourly rollup sums them."""

    provider: str
    model: str
    calls: int
    input_tokens: int
    output_tokens: int
    spend: Decimal
    cache_read: int
    savings: Decimal
    unpriced: int
    incomplete: int


def _by_provider(groups: Sequence[_Group]) -> list[tuple[Any, ...]]:
    """(provider, calls, spend) of each provider, the costliest first (then by name)."""
    calls: dict[str, int] = {}
    spend: dict[str, Decimal] = {}
    with localcontext(prec=_EXACT):
        for group in groups:
            calls[group.provider] = calls.get(group.provider, 0) + group.calls
            spend[group.provider] = spend.get(group.provider, Decimal(0)) + group.spend
    return [(provider, calls[provider], spend[provider]) for provider in sorted(spend, key=lambda p: (-spend[p], p))]


def _tuples(found: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in found]
