# SPDX-License-Identifier: Apache-2.0
"""Every named query and the report at scale, on one node and on a two-shard cluster, side by side.

    python benchmarks/cluster_queries.py [--calls N] [--days D] [--rounds R] [--layouts single,cluster]

Fills `llm_calls` with N synthetic calls over the last D days (default 100 million over 90; 1,000 users, 50 models
of 5 providers, 30 services, 12 features, 5 tenants, 4 calls a trace, grouped in workloads as below) with
`INSERT … SELECT` from `numbers()` in slices of 10 million, so the rollups are filled by their views exactly as
by the collector's inserts. One configuration is one embedded engine ("single"), the other two engines on
loopback sharing a `<remote_servers>` section, the schema applied with `--cluster` and the calls inserted
through the Distributed table ("cluster"). Printed per configuration:
- insert rate (calls a second, views included) and storage on disk per million calls (all tables, and llm_calls);
- each named query with its default parameters: cold (first run after ClickHouse's mark, uncompressed and query
  condition caches are dropped on every node; the OS page cache is not) and warm (median of R runs), in ms as
  the client sees them over HTTP;
- `llmledger report` and `llmledger sql "SELECT 1"` as commands (median of 3 wall times, process start included).
Heavy at the default size on a small machine (tens of minutes, several GB of disk): use --calls 1000000 first.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from clickhouse_connect.driver.client import Client

from llmledger.collector.exporters.clickhouse import migrations
from llmledger.collector.exporters.clickhouse.client import connect
from llmledger.collector.exporters.clickhouse.cluster_schema import cluster_of
from llmledger.collector.exporters.clickhouse.embedded import EmbeddedClickHouse, free_port, remote_servers
from llmledger.collector.exporters.clickhouse.queries import named_queries

DATABASE = "bench"
CLUSTER = "bench"
SLICE = 10_000_000
_COLUMNS = (
    "Timestamp, TraceId, SpanId, SpanName, DurationMs, Tenant, ServiceName, Environment, Feature, UserId, SessionId, "
    "Provider, Operation, RequestModel, ResponseModel, PricedModel, StatusCode, IsStreaming, InputTokens, "
    "OutputTokens, CacheReadInputTokens, InputCost, CacheReadCost, OutputCost, TotalCost, CacheSavings, CostSource, "
    "PriceId, Attributes"
)
# One call per number; a trace is 4 consecutive numbers of one workload (a service's feature: its tenant, its
# users, its three models) starting in the same second. 60 workloads over 30 services, 12 features, 5 tenants;
# 1,000 users, 50 per group of three workloads; 50 models of 5 providers. With `--independent` every dimension is
# drawn on its own instead, so nearly every call is a group of its own in every rollup (the worst case).
_FILL = """
INSERT INTO {db}.llm_calls ({columns})
SELECT
    toDateTime64(now() - toIntervalSecond(cityHash64(trace) % ({days} * 86400)), 9) + toIntervalMillisecond(call * 700),
    concat(hex(cityHash64(trace)), hex(sipHash64(trace))),
    hex(cityHash64(number, 'span')),
    concat('chat ', model),
    toFloat64(200 + cityHash64(number, 'ms') % 5000),
    concat('tenant-', toString({tenant} % 5)),
    concat('service-', toString({service} % 30)),
    'prod',
    concat('feature-', toString({feature} % 12)),
    concat('user-', toString(uid)),
    concat('session-', toString(uid), '-', toString(cityHash64(trace) % ({days} * 86400) DIV 86400)),
    ['openai', 'anthropic', 'google', 'mistral', 'aws.bedrock'][m % 5 + 1],
    'chat',
    model,
    model,
    model,
    if(number % 50 = 0, 'Error', 'Ok'),
    number % 3 = 0,
    input,
    output,
    cached,
    toDecimal64((input - cached) * (1 + m % 10) * 1e-7, 12),
    toDecimal64(cached * (1 + m % 10) * 1e-8, 12),
    toDecimal64(output * (1 + m % 10) * 4e-7, 12),
    toDecimal64((input - cached) * (1 + m % 10) * 1e-7, 12) + toDecimal64(cached * (1 + m % 10) * 1e-8, 12)
        + toDecimal64(output * (1 + m % 10) * 4e-7, 12),
    toDecimal64(cached * (1 + m % 10) * 9e-8, 12),
    if(number % 200 = 0, 'unpriced', 'collector'),
    concat('price-', toString(m)),
    map('team', concat('team-', toString({service} % 12)))
FROM
(
    SELECT
        number,
        intDiv(number, 4) AS trace,
        number % 4 AS call,
        cityHash64(trace, 'w') % 60 AS w,
        {uid} AS uid,
        {model} AS m,
        concat('model-', toString(m)) AS model,
        toUInt32(100 + cityHash64(number, 'i') % 4000) AS input,
        toUInt32(10 + cityHash64(number, 'o') % 800) AS output,
        toUInt32(if(number % 3 = 0, intDiv(input, 2), 0)) AS cached
    FROM numbers({start}, {count})
)
"""
_WORKLOADS = {
    "tenant": "w",
    "service": "w",
    "feature": "w",
    "uid": "intDiv(w, 3) * 50 + cityHash64(trace, 'u') % 50",
    "model": "(w * 3 + cityHash64(number, 'm') % 3) % 50",
}
_INDEPENDENT = {
    "tenant": "cityHash64(trace, 't')",
    "service": "cityHash64(trace, 's')",
    "feature": "cityHash64(trace, 'f')",
    "uid": "cityHash64(trace, 'u') % 1000",
    "model": "cityHash64(number, 'm') % 50",
}


class Layout:
    """The engines of one configuration, and a client for the node queries and inserts go to."""

    def __init__(self, name: str, base: Path) -> None:
        self.name = name
        shards = 2 if name == "cluster" else 1
        http = [free_port() for _ in range(shards)]
        tcp = [free_port(exclude=port) for port in http]
        extra = remote_servers(CLUSTER, tcp) if name == "cluster" else ""
        self.nodes = [
            EmbeddedClickHouse(base / f"{name}{index}", http[index], tcp[index], config_extra=extra).start()
            for index in range(shards)
        ]
        self.clients = [connect(node.url, send_receive_timeout=3600) for node in self.nodes]
        for client in self.clients:
            cluster = cluster_of(client, CLUSTER) if name == "cluster" else None
            migrations.apply(client, DATABASE, cluster=cluster)
        self.client = self.clients[0]
        self.url = self.nodes[0].url

    def stop(self) -> None:
        for client in self.clients:
            client.close()
        for node in self.nodes:
            node.stop()


def fill(layout: Layout, calls: int, days: int, *, independent: bool = False, merge: bool = False) -> float:
    """Insert `calls` calls; the seconds it took. Then `llm_calls` is merged (`OPTIMIZE`), and with `merge` every
    table into one part a partition (`OPTIMIZE … FINAL`), as background merges leave the rollups in time."""
    dimensions = _INDEPENDENT if independent else _WORKLOADS
    start = time.perf_counter()
    for first in range(0, calls, SLICE):
        count = min(SLICE, calls - first)
        sql = _FILL.format(db=DATABASE, columns=_COLUMNS, days=days, start=first, count=count, **dimensions)
        layout.client.command(sql, settings={"distributed_foreground_insert": 1, "max_execution_time": 0})
        print(f"  {layout.name}: {min(first + SLICE, calls):,} calls", flush=True)
    elapsed = time.perf_counter() - start
    for client in layout.clients:  # as background merges leave it in time; merges are not timed
        tables = [_local(layout, "llm_calls")] + (
            [
                name
                for (name,) in client.query(
                    "SELECT name FROM system.tables WHERE database = {db:String} AND engine LIKE '%MergeTree'",
                    parameters={"db": DATABASE},
                ).result_rows
                if name != _local(layout, "llm_calls")
            ]
            if merge
            else []
        )
        for table in tables:
            final = " FINAL" if merge else ""
            client.command(f"OPTIMIZE TABLE {DATABASE}.{table}{final}", settings={"max_execution_time": 0})
    return elapsed


def _local(layout: Layout, table: str) -> str:
    return f"{table}_local" if layout.name == "cluster" else table


def storage(layout: Layout) -> tuple[int, int, dict[str, int]]:
    """Bytes on disk of the database's active parts (all tables, llm_calls alone), and rows by table, over every
    node."""
    total = calls = 0
    rows: dict[str, int] = {}
    for client in layout.clients:
        for table, size, count in client.query(
            "SELECT table, sum(bytes_on_disk), sum(rows) FROM system.parts WHERE database = {db:String} AND active "
            "GROUP BY table",
            parameters={"db": DATABASE},
        ).result_rows:
            total += int(size)
            calls += int(size) if table in ("llm_calls", "llm_calls_local") else 0
            name = table.removesuffix("_local")
            rows[name] = rows.get(name, 0) + int(count)
    return total, calls, rows


def drop_caches(layout: Layout) -> None:
    for client in layout.clients:
        for cache in ("MARK CACHE", "UNCOMPRESSED CACHE", "QUERY CONDITION CACHE"):
            client.command(f"SYSTEM DROP {cache}")


def query_times(layout: Layout, rounds: int) -> dict[str, tuple[float, float, int]]:
    """Named query -> (cold ms, warm median ms, rows read), the rows as the server's summary counts them."""
    client = connect(layout.url, database=DATABASE, send_receive_timeout=3600)
    found = {}
    for name, query in sorted(named_queries().items()):
        parameters = query.bind()
        drop_caches(layout)
        cold, read = run_query(client, query.sql, parameters)
        warm = [run_query(client, query.sql, parameters)[0] for _ in range(rounds)]
        found[name] = (cold, statistics.median(warm), read)
    client.close()
    return found


def run_query(client: Client, sql: str, parameters: dict[str, Any]) -> tuple[float, int]:
    """Milliseconds `sql` took as the client sees it, and the rows it read."""
    start = time.perf_counter()
    result = client.query(sql, parameters=parameters)
    return (time.perf_counter() - start) * 1000, int(result.summary.get("read_rows", 0))


def command_ms(layout: Layout, arguments: Sequence[str]) -> float:
    command = [sys.executable, "-m", "llmledger.collector.cli", *arguments]
    command += ["--clickhouse-url", layout.url, "--database", DATABASE]
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, timeout=600)
        runs.append((time.perf_counter() - start) * 1000)
    return statistics.median(runs)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=100_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--independent", action="store_true", help="draw every dimension on its own (worst case)")
    parser.add_argument("--merge", action="store_true", help="merge every rollup before the queries (settled)")
    parser.add_argument("--layouts", default="single,cluster", help="single, cluster or both [single,cluster]")
    args = parser.parse_args(argv)
    layouts = [name.strip() for name in args.layouts.split(",") if name.strip()]
    results = {}
    with tempfile.TemporaryDirectory(prefix="llmledger-cluster-bench-") as base:
        for name in layouts:
            layout = Layout(name, Path(base))
            try:
                seconds = fill(layout, args.calls, args.days, independent=args.independent, merge=args.merge)
                results[name] = {
                    "rate": args.calls / seconds,
                    "storage": storage(layout),
                    "queries": query_times(layout, args.rounds),
                    "report": command_ms(layout, ["report", "--format", "json"]),
                    "sql": command_ms(layout, ["sql", "SELECT 1"]),
                }
                print(f"  {name} done: {results[name]}", flush=True)  # kept if a later layout fails
            finally:
                layout.stop()
    millions = args.calls / 1e6
    print(f"\n{args.calls:,} calls over {args.days} days; warm = median of {args.rounds}; ms")
    print("| | " + " | ".join(f"{name} cold | {name} warm | rows read" for name in results) + " |")
    print("|---|" + "---|---|---|" * len(results))
    names = sorted(next(iter(results.values()))["queries"]) if results else []
    for query in names:
        cells = " | ".join(
            f"{r['queries'][query][0]:,.0f} | {r['queries'][query][1]:,.0f} | {r['queries'][query][2]:,}"
            for r in results.values()
        )
        print(f"| `{query}` | {cells} |")
    for label, key in (("`llmledger report` (command)", "report"), ('`llmledger sql "SELECT 1"` (command)', "sql")):
        print(f"| {label} | " + " | ".join(f"| {r[key]:,.0f} |" for r in results.values()) + " |")
    for name, r in results.items():
        total, calls, rows = r["storage"]
        print(
            f"{name}: insert {r['rate']:,.0f} calls/s; storage {total / millions / 1e6:,.1f} MB per million calls "
            f"({calls / millions / 1e6:,.1f} MB of it llm_calls); rows per million calls: "
            + ", ".join(f"{table} {count / millions:,.0f}" for table, count in sorted(rows.items()) if count)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
