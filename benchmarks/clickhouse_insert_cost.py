# SPDX-License-Identifier: Apache-2.0
"""ClickHouse's CPU per `llm_calls` row inserted, with the rollup views taken away one at a time.

    python benchmarks/clickhouse_insert_cost.py [--rows N] [--rounds R]

Where the ingest benchmark's ClickHouse share goes. The rows are the ingest benchmark's spans, extracted by the
collector's own code and inserted as the collector inserts them (its Native writer, 50,000-row inserts, a
deduplication token each) into a fresh database of one embedded ClickHouse per configuration. A figure is the
server process's CPU (user + system, from /proc) from just before the first insert until three seconds after
the last, per row: the inserts, the materialized views they feed, and whatever merging starts in that time.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from collector_ingest import SPANS_PER_REQUEST, build_requests

from llmledger.collector.clickhouse import migrations
from llmledger.collector.clickhouse.client import connect
from llmledger.collector.clickhouse.embedded import EmbeddedClickHouse
from llmledger.collector.clickhouse.writer import insert_llm_calls
from llmledger.collector.extract import extract_columns
from llmledger.collector.records import CallColumns

INSERT_ROWS = 50_000  # the collector's default --batch-size
_ROLLUPS = ("llm_trace_costs_mv", "llm_usage_hourly_mv", "llm_usage_daily_user_mv", "llm_budget_usage_mv")
_INDEXES = ("idx_trace_id", "idx_user_id", "idx_session_id", "idx_price_id", "idx_cost_source", "idx_attr_key")
CONFIGURATIONS: dict[str, list[str]] = {
    "llm_calls and every rollup (as shipped)": [],
    "without the per-trace rollup": ["DROP VIEW {db}.llm_trace_costs_mv"],
    "without the hourly rollup": ["DROP VIEW {db}.llm_usage_hourly_mv"],
    "without the daily per-user rollup": ["DROP VIEW {db}.llm_usage_daily_user_mv"],
    "llm_calls alone": [f"DROP VIEW IF EXISTS {{db}}.{view}" for view in _ROLLUPS],
    "llm_calls alone, no skip indexes": [
        *(f"DROP VIEW IF EXISTS {{db}}.{view}" for view in _ROLLUPS),
        *(f"ALTER TABLE {{db}}.llm_calls DROP INDEX {index}" for index in (*_INDEXES, "idx_attr_value")),
    ],
}


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def insert_batches(rows: int) -> list[CallColumns]:
    """The benchmark's spans as the collector would insert them."""
    extracted = [extract_columns(body).columns for body in build_requests(rows)]
    all_rows = [row for columns in extracted for row in zip(*columns.columns, strict=True)]
    return [
        CallColumns([list(column) for column in zip(*all_rows[start : start + INSERT_ROWS], strict=True)])
        for start in range(0, len(all_rows), INSERT_ROWS)
    ]


def cost_per_row(server: EmbeddedClickHouse, batches: Sequence[CallColumns], statements: Sequence[str]) -> float:
    """Server CPU µs per row inserting `batches` into a fresh database altered by `statements`."""
    admin = connect(server.url)
    database = f"insert_cost_{uuid.uuid4().hex[:8]}"
    try:
        migrations.apply(admin, database)
        for statement in statements:
            admin.command(statement.format(db=database))
        client = connect(server.url, database=database)
        time.sleep(1)  # the migrations' own work done
        assert server.pid is not None
        before = _cpu_seconds(server.pid)
        for index, batch in enumerate(batches):
            insert_llm_calls(client, batch, deduplication_token=f"{database}-{index}")
        time.sleep(3)
        spent = _cpu_seconds(server.pid) - before
        client.close()
        return spent / sum(len(batch) for batch in batches) * 1e6
    finally:
        admin.command(f"DROP DATABASE IF EXISTS {database} SYNC")
        admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--rows", type=int, default=102_400, help=f"rows per configuration (multiple of {SPANS_PER_REQUEST})"
    )
    parser.add_argument("--rounds", type=int, default=2, help="passes over all configurations")
    args = parser.parse_args()
    batches = insert_batches(args.rows)
    print(f"{args.rows} rows in {len(batches)} inserts per configuration; server CPU µs per row\n")
    results: dict[str, list[float]] = {name: [] for name in CONFIGURATIONS}
    with EmbeddedClickHouse(tempfile.mkdtemp(prefix="llmledger-insert-cost-")) as server:
        for _ in range(args.rounds):
            for name, statements in CONFIGURATIONS.items():
                results[name].append(cost_per_row(server, batches, statements))
    for name, figures in results.items():
        print(f"{name:42s} " + "  ".join(f"{figure:5.2f}" for figure in figures))


if __name__ == "__main__":
    main()
