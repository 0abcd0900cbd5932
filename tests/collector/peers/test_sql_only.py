# SPDX-License-Identifier: Apache-2.0
"""SQL-only, beside an existing Collector: the real OpenTelemetry Collector's ClickHouse exporter (or rotel) writes
otel_traces, and the schema of `llmledger schema apply --sql-only` turns the LLM spans among them into llm_calls
inside ClickHouse, with no llmledger process in the path. The same requests sent to the llmledger collector give
the same rows, costs and rollups: every named query answers the same in both databases.

The exporter runs with docs/deployments/otelcol-clickhouse.yaml and creates its own tables (its DDL); rotel creates
none, so there the schema's own otel_traces (the exporter's columns) is what it writes to.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from llmledger.collector.exporters.clickhouse.queries import named_queries
from tests.collector.running import rotel_binary, start_collector

from .peers import DEPLOYMENTS, free_ports, post_otlp, rows, start_peer, wait_until
from .spans import CALLS_SENT, app_requests, conventions_request

BIN = Path(sys.executable).parent
CALLS = "SELECT * EXCEPT (IngestedAt, Version) FROM llm_calls FINAL ORDER BY TraceId, SpanId"


def _count(client: Any) -> int:
    return int(rows(client, "SELECT count() FROM llm_calls FINAL")[0][0])


def _derived(client: Any) -> bool:
    """Whether every call sent is in llm_calls and in the rollups: an insert writes llm_calls before the views
    fed from it, so a reader can see the calls a moment before their rollups."""
    rolled_up = int(rows(client, "SELECT sum(Calls) FROM llm_usage_hourly")[0][0])
    return _count(client) == CALLS_SENT and rolled_up == CALLS_SENT


def _apply_sql_only(clickhouse: Any, database: str) -> str:
    done = subprocess.run(
        [str(BIN / "llmledger"), "schema", "apply", "--sql-only", "--clickhouse-url", clickhouse.url],
        capture_output=True,
        text=True,
        timeout=300,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("LLMLEDGER_")},
            "LLMLEDGER_CLICKHOUSE_DATABASE": database,
        },
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _answers(client: Any, now: int) -> dict[str, list[tuple[Any, ...]]]:
    """Every named query's answer, its clock stopped at `now` (budget_burn projects by the second)."""
    return {
        name: rows(client, query.sql.replace("now()", f"toDateTime({now})"), query.bind())
        for name, query in named_queries().items()
    }


def _reference(clickhouse: Any, database: str, bodies: list[bytes]) -> Any:
    """The llmledger collector's rows for `bodies`, in `database`."""
    collector = start_collector(["--clickhouse-url", clickhouse.url, "--database", database, "--flush-interval", "0.2"])
    try:
        for body in bodies:
            post_otlp(collector.http_url, body)
        client = clickhouse.connect(database)
        assert wait_until(lambda: _count(client) == CALLS_SENT), collector.text
    finally:
        assert collector.stop() == 0, collector.text
    return client


def _assert_same(reference: Any, derived: Any) -> None:
    expected = rows(reference, CALLS)
    assert len(expected) == CALLS_SENT
    assert {row[0] for row in rows(reference, "SELECT DISTINCT CostSource FROM llm_calls")} == {
        "instrumentation",
        "provider",
        "collector",
        "unpriced",
    }
    got = rows(derived, CALLS)
    if got != expected:  # name the columns that differ, span by span
        names = [column for column, *_ in derived.query(f"DESCRIBE ({CALLS})").result_rows]
        differences = [
            (want[1:3], [(name, a, b) for name, a, b in zip(names, want, have, strict=True) if a != b])
            for want, have in zip(expected, got, strict=False)
            if want != have
        ]
        raise AssertionError(f"{len(expected)} calls expected, {len(got)} derived; differences: {differences}")
    now = int(time.time())
    reference_answers, derived_answers = _answers(reference, now), _answers(derived, now)
    assert any(reference_answers.values())
    for name, answer in reference_answers.items():
        assert derived_answers[name] == answer, name


@pytest.mark.parametrize("protocol", ["tcp", "http"])
def test_the_collectors_clickhouse_exporter_and_sql_give_the_llmledger_collectors_rows(
    protocol, otelcol, clickhouse, fresh_database, tmp_path
):
    bodies = [*app_requests(), conventions_request()]
    reference = _reference(clickhouse, fresh_database("reference"), bodies)
    database = fresh_database("sql_only")
    # The exporter speaks ClickHouse's native protocol or HTTP; the embedded engine serves both.
    endpoint = f"tcp://127.0.0.1:{clickhouse.tcp_port}" if protocol == "tcp" else clickhouse.url
    grpc_port, http_port = free_ports(2)
    collector = start_peer(
        otelcol,
        DEPLOYMENTS / "otelcol-clickhouse.yaml",
        {"OTELCOL_GRPC_PORT": grpc_port, "OTELCOL_HTTP_PORT": http_port},
        tmp_path / "otelcol.log",
        env={"CLICKHOUSE_ENDPOINT": endpoint, "CLICKHOUSE_DATABASE": database},
    )
    try:
        assert collector.listening() == {("127.0.0.1", grpc_port), ("127.0.0.1", http_port)}
        tables = f"SELECT name FROM system.tables WHERE database = '{database}' AND name LIKE 'otel_traces%'"
        created = wait_until(lambda: rows(clickhouse.client, tables))  # by the exporter, at its start
        assert ("otel_traces",) in created, collector.output
        assert "applied to database" in _apply_sql_only(clickhouse, database)
        for body in bodies:
            post_otlp(f"http://127.0.0.1:{http_port}/v1/traces", body)
        derived = clickhouse.connect(database)
        assert wait_until(lambda: _derived(derived)), collector.output
    finally:
        collector.stop()
    _assert_same(reference, derived)


def test_rotel_writing_otel_traces_gives_the_llmledger_collectors_rows(clickhouse, fresh_database, tmp_path):
    binary = rotel_binary()
    assert binary is not None, "rotel is in the test environment (requirements/test.lock)"
    bodies = [*app_requests(), conventions_request()]
    reference = _reference(clickhouse, fresh_database("reference"), bodies)
    database = fresh_database("rotel_sql_only")
    _apply_sql_only(clickhouse, database)  # rotel creates no table: otel_traces is the schema's
    grpc_port, http_port = free_ports(2)
    log = (tmp_path / "rotel.log").open("wb")
    process = subprocess.Popen(
        [
            str(binary),
            "start",
            *("--otlp-grpc-endpoint", f"127.0.0.1:{grpc_port}", "--otlp-http-endpoint", f"127.0.0.1:{http_port}"),
            *("--exporter", "clickhouse", "--clickhouse-exporter-endpoint", clickhouse.url),
            *("--clickhouse-exporter-database", database, "--clickhouse-exporter-async-insert", "false"),
            *("--batch-timeout", "200ms"),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        derived = clickhouse.connect(database)
        assert wait_until(lambda: _accepts_otlp(http_port, bodies[0])), (tmp_path / "rotel.log").read_text()
        for body in bodies[1:]:
            post_otlp(f"http://127.0.0.1:{http_port}/v1/traces", body)
        assert wait_until(lambda: _derived(derived)), (tmp_path / "rotel.log").read_text()
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
    _assert_same(reference, derived)


def _accepts_otlp(port: int, body: bytes) -> bool:
    try:
        post_otlp(f"http://127.0.0.1:{port}/v1/traces", body)
    except OSError:
        return False
    return True
