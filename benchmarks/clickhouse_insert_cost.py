# SPDX-License-Identifier: Apache-2.0
"""ClickHouse's CPU per `llm_calls` row inserted, with the rollup views taken away one at a time.

    python benchmarks/clickhouse_insert_cost.py [--rows N] [--rounds R]

Where the ingest benchmark's ClickHouse share goes. The rows are the ingest benchmark's spans, extracted by the
collector's own code and inserted as the collector inserts them (its Native writer, 50,000-row inserts, a
deduplication token each) into a fresh database of one embedded ClickHouse per configuration. Two figures per
configuration and round, in µs of server CPU a row:
- "insert": the CPU the server's own counters charge to the inserts (user + system time of the query threads,
  `system.events`), with merges paused: the inserts and the materialized views they feed, and nothing else that
  runs on the machine, so it moves little with the machine's load;
- "with merges": the server process's CPU (from /proc) from just before the first insert until the table has
  been merged into one part (`OPTIMIZE`) and no merge is left running: the merges an insert causes included.
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

from llmledger.collector.exporters.clickhouse import migrations
from llmledger.collector.exporters.clickhouse.client import connect
from llmledger.collector.exporters.clickhouse.embedded import EmbeddedClickHouse
from llmledger.collector.exporters.clickhouse.writer import insert_llm_calls
from llmledger.collector.extract import Extractor
from llmledger.collector.llm_calls import CallColumns

INSERT_ROWS = 50_000  # the collector's default --batch-size
_ROLLUPS = (
    "llm_trace_costs_mv",
    "llm_usage_hourly_mv",
    "llm_usage_daily_user_mv",
    "llm_budget_usage_mv",
    "llm_usage_daily_mv",
    "llm_session_costs_mv",
    "llm_attribute_costs_mv",
    "llm_call_deliveries_mv",
)
_INDEXES = ("idx_trace_id", "idx_user_id", "idx_session_id", "idx_price_id", "idx_cost_source", "idx_attr_key")


def _grouping_trace_view() -> str:
    """Migration 0002's per-trace view (grouping each insert by trace), to put back in place of 0007's."""
    rollups = next(m for m in migrations.migrations() if m.name == "0002_llm_rollups")
    view = next(s for s in rollups.statements("placeholder") if "llm_trace_costs_mv" in s)
    view = view.replace("CREATE MATERIALIZED VIEW IF NOT EXISTS", "CREATE OR REPLACE MATERIALIZED VIEW")
    return view.replace("`placeholder`", "{db}")


CONFIGURATIONS: dict[str, list[str]] = {
    "llm_calls and every rollup (as shipped)": [],
    # Before migration 0006, a 50,000-row insert made a wide part: a file pair per column and skip index.
    "wide inserts (before 0006)": ["ALTER TABLE {db}.llm_calls MODIFY SETTING min_bytes_for_wide_part = 10485760"],
    # Before migration 0007, the per-trace view grouped every insert by trace.
    "per-trace view grouping (before 0007)": [_grouping_trace_view()],
    # Before migration 0021, no insert was kept apart for taking back a call delivered to two collectors.
    "without the deliveries log (before 0021)": ["DROP VIEW {db}.llm_call_deliveries_mv"],
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
    extractor = Extractor()
    extracted = [extractor.columns(body).columns for body in build_requests(rows)]
    all_rows = [row for columns in extracted for row in zip(*columns.columns, strict=True)]
    return [
        CallColumns([list(column) for column in zip(*all_rows[start : start + INSERT_ROWS], strict=True)])
        for start in range(0, len(all_rows), INSERT_ROWS)
    ]


_EVENTS = "SELECT sum(value) FROM system.events WHERE event IN ('UserTimeMicroseconds', 'SystemTimeMicroseconds')"


def cost_per_row(
    server: EmbeddedClickHouse, batches: Sequence[CallColumns], statements: Sequence[str]
) -> tuple[float, float]:
    """(insert, with merges): server CPU µs per row inserting `batches` into a fresh database altered by
    `statements`, first with merges paused, then into another with them running and the table merged."""
    admin = connect(server.url)
    rows = sum(len(batch) for batch in batches)
    figures = []
    try:
        for merging in (False, True):
            database = f"insert_cost_{uuid.uuid4().hex[:8]}"
            migrations.apply(admin, database)
            for statement in statements:
                admin.command(statement.format(db=database))
            client = connect(server.url, database=database)
            time.sleep(1)  # the migrations' own work done
            admin.command("SYSTEM START MERGES" if merging else "SYSTEM STOP MERGES")
            assert server.pid is not None
            before = _cpu_seconds(server.pid), admin.query(_EVENTS).result_rows[0][0]
            for index, batch in enumerate(batches):
                insert_llm_calls(client, batch, deduplication_token=f"{database}-{index}")
            if merging:
                admin.command(f"OPTIMIZE TABLE {database}.llm_calls")
                while admin.query("SELECT count() FROM system.merges").result_rows[0][0]:
                    time.sleep(0.2)
                figures.append((_cpu_seconds(server.pid) - before[0]) / rows * 1e6)
            else:
                figures.append((admin.query(_EVENTS).result_rows[0][0] - before[1]) / rows)
            client.close()
            admin.command("SYSTEM START MERGES")
            admin.command(f"DROP DATABASE IF EXISTS {database} SYNC")
        return figures[0], figures[1]
    finally:
        admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--rows", type=int, default=204_800, help=f"rows per configuration (multiple of {SPANS_PER_REQUEST})"
    )
    parser.add_argument("--rounds", type=int, default=2, help="passes over all configurations")
    parser.add_argument(
        "--only", default="", help="run only the configurations whose names contain one of these (comma-separated)"
    )
    args = parser.parse_args()
    batches = insert_batches(args.rows)
    print(f"{args.rows} rows in {len(batches)} inserts per configuration; server CPU µs per row\n")
    wanted = args.only.split(",")
    chosen = {name: statements for name, statements in CONFIGURATIONS.items() if any(w in name for w in wanted)}
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in chosen}
    with EmbeddedClickHouse(tempfile.mkdtemp(prefix="llmledger-insert-cost-")) as server:
        for _ in range(args.rounds):
            for name, statements in chosen.items():
                results[name].append(cost_per_row(server, batches, statements))
    print(f"{'':42s} {'insert (merges paused)':>24s}   with merges")
    for name, figures in results.items():
        inserts = "  ".join(f"{insert:5.2f}" for insert, _ in figures)
        merged = "  ".join(f"{merged:5.2f}" for _, merged in figures)
        print(f"{name:42s} {inserts:>24s}   {merged}")


if __name__ == "__main__":
    main()
