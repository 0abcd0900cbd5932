# SPDX-License-Identifier: Apache-2.0
"""How long the dashboard takes to show each view on a database of many calls, in headless Chromium.

    python benchmarks/dashboard_first_paint.py [--calls N] [--days D] [--rounds R]

N calls (default 10,000,000) spread evenly over the last D days (default 30), generated inside an embedded
ClickHouse by `INSERT … SELECT FROM numbers()` into `llm_calls`, so every rollup is filled by its materialized
view as the collector's inserts fill it: 40 workloads (a tenant, service, feature and model each, of 8
tenants, 12 services, 16 features and 12 models, one of them without a price), 250 users in each (10,000), 4
calls a trace, 1 call in 400 without usage. The dashboard is served by `llmledger ui`'s server and
opened in Chromium (scripts/install-browser) for each view, for the default 7 days and for all D days.

Three figures per view, median and worst of R rounds, in ms:
- "data": the whole view's `/api/data` request alone, timed by the client (every query and the JSON);
- "first paint": from the navigation's start to the page drawn with the view's totals (the page asks for its
  head first, then each section in a request of its own; `body.dataset.firstPaintMs`);
- "complete": from the navigation's start to the last section drawn (`body.dataset.renderedMs`).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from llmledger.collector.dashboard import VIEWS, Dashboard, client_runner
from llmledger.collector.dashboard.server import DashboardServer
from llmledger.collector.exporters.clickhouse import migrations
from llmledger.collector.exporters.clickhouse.client import connect
from llmledger.collector.exporters.clickhouse.embedded import EmbeddedClickHouse
from tests.collector.dashboard.browser import Chromium, chromium_missing

_CHUNK = 1_000_000
_INSERT = """
INSERT INTO {db}.llm_calls (Timestamp, TraceId, SpanId, SpanName, DurationMs, Tenant, ServiceName, Environment,
    Feature, UserId, SessionId, Provider, Operation, RequestModel, ResponseModel, PricedModel, StatusCode, ErrorType,
    IsStreaming, UsageComplete, InputTokens, OutputTokens, CacheReadInputTokens, InputCost, OutputCost, TotalCost,
    CacheSavings, CostSource)
SELECT
    now64(9) - toIntervalMillisecond(intDiv(n * {span_ms}, {calls})) AS Timestamp,
    lower(hex(cityHash64(intDiv(n, 4), 'trace'))) || lower(hex(cityHash64(intDiv(n, 4), 'id'))) AS TraceId,
    lower(hex(cityHash64(n, 'span'))) AS SpanId,
    'chat' AS SpanName,
    200 + n % 3000 AS DurationMs,
    'tenant-' || toString(w % 8) AS Tenant,
    'service-' || toString(w % 12) AS ServiceName,
    'prod' AS Environment,
    'feature-' || toString(w % 16) AS Feature,
    'user-' || toString(w * 250 + cityHash64(intDiv(n, 4), 'user') % 250) AS UserId,
    'session-' || toString(intDiv(n, 20)) AS SessionId,
    ['openai', 'anthropic', 'google'][1 + w % 3] AS Provider,
    'chat' AS Operation,
    'model-' || toString(w % 12) AS RequestModel,
    RequestModel AS ResponseModel,
    if(w % 12 = 11, '', RequestModel) AS PricedModel,
    if(n % 97 = 5, 'Error', 'Ok') AS StatusCode,
    if(n % 97 = 5, 'RateLimitError', '') AS ErrorType,
    n % 3 = 0 AS IsStreaming,
    n % 400 != 3 AS UsageComplete,
    if(UsageComplete, 500 + n % 4000, 0) AS InputTokens,
    if(UsageComplete, 50 + n % 900, 0) AS OutputTokens,
    if(n % 4 = 0, intDiv(InputTokens, 2), 0) AS CacheReadInputTokens,
    if(PricedModel = '' OR NOT UsageComplete, 0, toDecimal64(InputTokens * (1 + n % 12), 12) / 1000000) AS InputCost,
    if(PricedModel = '' OR NOT UsageComplete, 0, toDecimal64(OutputTokens * (4 + n % 12), 12) / 1000000) AS OutputCost,
    InputCost + OutputCost AS TotalCost,
    toDecimal64(CacheReadInputTokens, 12) / 2000000 AS CacheSavings,
    if(PricedModel = '' OR NOT UsageComplete, 'unpriced', 'collector') AS CostSource
FROM (SELECT number + {start} AS n, cityHash64(intDiv(n, 4), 'workload') % 40 AS w FROM numbers({count}))
"""


def fill(server: EmbeddedClickHouse, database: str, calls: int, days: int) -> float:
    """Insert `calls` generated calls; the seconds it took."""
    admin = connect(server.url, send_receive_timeout=3600)
    migrations.apply(admin, database)
    started = time.monotonic()
    for start in range(0, calls, _CHUNK):
        count = min(_CHUNK, calls - start)
        sql = _INSERT.format(db=database, start=start, count=count, calls=calls, span_ms=days * 86_400_000)
        admin.command(sql, settings={"max_partitions_per_insert_block": 1000})
        print(f"  inserted {start + count:,} of {calls:,} calls", file=sys.stderr, flush=True)
    took = time.monotonic() - started
    # A database that has been receiving calls for a while has merged its parts: measure that, not a merge storm.
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline and admin.query("SELECT count() FROM system.merges").result_rows[0][0]:
        time.sleep(2)
    return took


def measure(
    url: str, chromium: Chromium, rounds: int, days: int
) -> list[tuple[str, list[float], list[float], list[float]]]:
    """(view, data ms, first paint ms, complete ms) of each view over the last `days` days."""
    page = chromium.new_page()
    results = []
    try:
        for view in VIEWS:
            query = f"view={view}&days={days}"
            data_ms, paint_ms, complete_ms = [], [], []
            for _ in range(rounds):
                started = time.perf_counter()
                with urllib.request.urlopen(f"{url}api/data?{query}", timeout=120) as response:
                    response.read()
                data_ms.append((time.perf_counter() - started) * 1000)
                state = page.open(f"{url}?{query}", timeout=120)
                if state != "ready":
                    raise SystemExit(f"{query}: the page settled as {state!r}: {page.problems()}")
                paint_ms.append(float(page.evaluate("document.body.dataset.firstPaintMs")))
                complete_ms.append(float(page.evaluate("document.body.dataset.renderedMs")))
            results.append((view, data_ms, paint_ms, complete_ms))
    finally:
        page.close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    missing = chromium_missing()
    if missing:
        raise SystemExit(missing)
    with (
        tempfile.TemporaryDirectory(prefix="llmledger-dashboard-bench-") as folder,
        EmbeddedClickHouse(Path(folder) / "data") as server,
    ):
        seconds = fill(server, "bench", args.calls, args.days)
        client = connect(server.url, database="bench")
        sizes = client.query(
            "SELECT table, sum(rows) FROM system.parts WHERE database = 'bench' AND active "
            "AND table IN ('llm_calls', 'llm_usage_hourly', 'llm_trace_costs', 'llm_usage_daily_user') "
            "GROUP BY table ORDER BY table"
        ).result_rows
        print(
            f"{args.calls:,} calls over {args.days} days inserted in {seconds:.0f} s; rows: "
            + ", ".join(f"{table} {rows:,}" for table, rows in sizes)
        )
        server_ = DashboardServer(Dashboard(client_runner(client), base=""), port=0, token=None).start()
        chromium = Chromium.start(Path(folder) / "profile")
        try:
            for days in (7, args.days):
                print(f"\nlast {days} days ({args.rounds} rounds), ms: median [worst]")
                print(f"  {'view':<16} {'data':>16} {'first paint':>16} {'complete':>16}")
                for view, data_ms, paint_ms, complete_ms in measure(server_.url, chromium, args.rounds, days):
                    print(f"  {view:<16} {_cell(data_ms):>16} {_cell(paint_ms):>16} {_cell(complete_ms):>16}")
        finally:
            chromium.stop()
            server_.stop()
    return 0


def _cell(values: list[float]) -> str:
    return f"{statistics.median(values):.0f} [{max(values):.0f}]"


if __name__ == "__main__":
    sys.exit(main())
