# SPDX-License-Identifier: Apache-2.0
"""The real OpenTelemetry Collector in front of the llmledger collector (docs/deployments/otelcol-in-front.yaml:
OTLP in, batch, OTLP/gRPC out through a queue kept on disk): the same requests give the same llm_calls rows as
when they are sent to the llmledger collector directly, whatever the Collector re-encodes on the way."""

from __future__ import annotations

from typing import Any

from tests.collector.running import start_collector

from .peers import DEPLOYMENTS, free_ports, post_otlp, rows, start_peer, wait_until
from .spans import CALLS_SENT, app_requests, conventions_request

CALLS = "SELECT * EXCEPT (IngestedAt, Version) FROM llm_calls FINAL ORDER BY TraceId, SpanId"


def _count(client: Any) -> int:
    return int(rows(client, "SELECT count() FROM llm_calls FINAL")[0][0])


def test_behind_the_otel_collector_the_llm_calls_rows_are_the_same_as_direct(
    otelcol, clickhouse, fresh_database, tmp_path
):
    bodies = [*app_requests(), conventions_request()]
    direct_database, behind_database = fresh_database("direct"), fresh_database("behind")
    common = ["--clickhouse-url", clickhouse.url, "--flush-interval", "0.2"]
    direct = start_collector([*common, "--database", direct_database])
    behind = start_collector([*common, "--database", behind_database])
    grpc_port, http_port = free_ports(2)
    collector = start_peer(
        otelcol,
        DEPLOYMENTS / "otelcol-in-front.yaml",
        {"OTELCOL_GRPC_PORT": grpc_port, "OTELCOL_HTTP_PORT": http_port},
        tmp_path / "otelcol.log",
        env={"OTELCOL_LLMLEDGER_ENDPOINT": behind.grpc_endpoint, "OTELCOL_STORAGE_DIR": str(tmp_path / "queue")},
    )
    try:
        assert collector.listening() == {("127.0.0.1", grpc_port), ("127.0.0.1", http_port)}
        for body in bodies:
            post_otlp(direct.http_url, body)
            post_otlp(f"http://127.0.0.1:{http_port}/v1/traces", body)
        direct_client, behind_client = clickhouse.connect(direct_database), clickhouse.connect(behind_database)
        assert wait_until(lambda: _count(direct_client) == CALLS_SENT), direct.text
        assert wait_until(lambda: _count(behind_client) == CALLS_SENT), collector.output
    finally:
        collector.stop()
        for running in (direct, behind):
            assert running.stop() == 0, running.text

    direct_rows, behind_rows = rows(direct_client, CALLS), rows(behind_client, CALLS)
    assert len(direct_rows) == CALLS_SENT
    assert behind_rows == direct_rows
