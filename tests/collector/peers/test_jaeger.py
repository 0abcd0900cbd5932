# SPDX-License-Identifier: Apache-2.0
"""The real Jaeger behind `llmledger collector --forward`: an instrumented app's whole trace is in Jaeger, its
LLM spans carry their tokens and cost, and the trace ids `llmledger report` lists open it there, also across a
collector killed and restarted in the middle of the app's run.

Jaeger runs with docs/deployments/jaeger.yaml (every port on 127.0.0.1), the collector with
docs/deployments/llmledger-collector.yaml, their ports moved to free ones.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import urllib.request
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.collector.running import start_collector

from .apps import LLM_CALLS, run_traced_app
from .peers import DEPLOYMENTS, free_ports, get_json, post_otlp, rows, wait_until
from .spans import conventions_request

BIN = Path(sys.executable).parent


def _collector(clickhouse: Any, database: str, jaeger: Any, *extra: str) -> Any:
    return start_collector(
        [
            "--config",
            str(DEPLOYMENTS / "llmledger-collector.yaml"),
            "--clickhouse-url",
            clickhouse.url,
            "--database",
            database,
            "--forward",
            jaeger.otlp_grpc,
            "--flush-interval",
            "0.2",
            *extra,
        ]
    )


def _attributes(span: dict[str, Any]) -> dict[str, Any]:
    """OTLP/JSON attributes as plain values (ints arrive as strings, as OTLP/JSON spells int64)."""
    found = {}
    for item in span.get("attributes", []):
        value = item["value"]
        (kind, raw), *_ = value.items()
        found[item["key"]] = int(raw) if kind == "intValue" else raw
    return found


def _report(clickhouse: Any, database: str, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    done = subprocess.run(
        [
            str(BIN / "llmledger"),
            "report",
            "--clickhouse-url",
            clickhouse.url,
            "--database",
            database,
            "-f",
            "json",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("LLMLEDGER_")}, **(env or {})},
    )
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def test_jaeger_shows_the_apps_whole_trace_with_the_cost_of_each_llm_call(jaeger, clickhouse, fresh_database):
    database = fresh_database("jaeger")
    collector = _collector(clickhouse, database, jaeger)
    try:
        app = run_traced_app(f"http://{collector.grpc_endpoint}")
        spans = wait_until(lambda: len(found := jaeger.spans(app.trace_id)) == len(app.spans) and found)
    finally:
        assert collector.stop() == 0, collector.text
    assert spans, f"Jaeger never held the {len(app.spans)} spans of trace {app.trace_id}:\n{jaeger.peer.output}"
    # Only the configured ports, each on loopback (Jaeger's built-in configuration listens on all interfaces).
    assert jaeger.peer.listening() == {("127.0.0.1", port) for port in jaeger.peer.ports.values()}

    assert sorted(span["spanId"] for span in spans) == sorted(app.span_ids)
    assert {span["traceId"] for span in spans} == {app.trace_id}
    client = clickhouse.connect(database)
    calls = {
        span_id: (trace_id, input_tokens, output_tokens, total)
        for span_id, trace_id, input_tokens, output_tokens, total in rows(
            client, "SELECT SpanId, TraceId, InputTokens, OutputTokens, TotalCost FROM llm_calls FINAL"
        )
    }
    llm_spans = {span["spanId"]: _attributes(span) for span in spans if span["spanId"] in app.llm_span_ids()}
    assert len(llm_spans) == LLM_CALLS == len(calls)
    for span_id, attributes in llm_spans.items():
        trace_id, input_tokens, output_tokens, total = calls[span_id]
        assert trace_id == app.trace_id
        assert attributes["gen_ai.usage.input_tokens"] == input_tokens
        assert attributes.get("gen_ai.usage.output_tokens", 0) == output_tokens  # none on an embedding
        assert Decimal(repr(attributes["gen_ai.usage.cost.amount"])) == total > 0


def test_report_links_open_the_trace_in_jaeger_given_by_flag_or_environment(jaeger, clickhouse, fresh_database):
    database = fresh_database("jaeger_report")
    collector = _collector(clickhouse, database, jaeger)
    try:
        app = run_traced_app(f"http://{collector.grpc_endpoint}")
        wait_until(lambda: len(jaeger.spans(app.trace_id)) == len(app.spans))
        wait_until(lambda: _report(clickhouse, database)["traces"])
    finally:
        assert collector.stop() == 0, collector.text

    by_flag = _report(clickhouse, database, "--jaeger-url", jaeger.url)["traces"]
    by_environment = _report(clickhouse, database, env={"LLMLEDGER_JAEGER_URL": jaeger.url})["traces"]
    assert by_flag == by_environment
    assert [trace["trace_id"] for trace in by_flag] == [app.trace_id]
    link = by_flag[0]["link"]
    assert link == f"{jaeger.url}/trace/{app.trace_id}"
    with urllib.request.urlopen(link, timeout=10) as page:  # the UI route answers
        assert page.status == 200
    # What the UI at that route asks Jaeger for: the trace, every span of it.
    (trace,) = get_json(f"{jaeger.url}/api/traces/{app.trace_id}")["data"]
    assert trace["traceID"] == app.trace_id
    assert {span["spanID"] for span in trace["spans"]} == app.span_ids


def test_a_collector_killed_and_restarted_mid_run_shows_every_span_once(jaeger, clickhouse, fresh_database):
    """The app flushes its first calls, the collector is killed (SIGKILL, nothing flushed or committed) once
    Jaeger has them and restarted on the same ports and queue; then the app goes on. The forwarder re-sends what
    it had not committed; Jaeger keeps what it is sent, and shows each span once."""
    database = fresh_database("jaeger_restart")
    grpc_port, http_port = free_ports(2)
    ports = ["--grpc-port", str(grpc_port), "--http-port", str(http_port)]
    with tempfile.TemporaryDirectory(prefix="llmledger-queue-") as queue:
        queue_args = ["--queue-dir", queue, *ports]
        collectors = [_collector(clickhouse, database, jaeger, *queue_args)]
        trace: list[str] = []

        def restart() -> None:
            trace_id = wait_until(lambda: _trace_id_of_first_calls(clickhouse, database))
            assert trace_id, collectors[0].text
            trace.append(trace_id)
            assert wait_until(lambda: len(jaeger.spans(trace_id)) >= 2), jaeger.peer.output  # the first two calls
            collectors[0].process.send_signal(signal.SIGKILL)
            collectors[0].stop()
            collectors.append(_collector(clickhouse, database, jaeger, *queue_args))

        try:
            app = run_traced_app(f"http://127.0.0.1:{grpc_port}", during_pause=restart)
            shown = wait_until(lambda: len(found := jaeger.spans(app.trace_id)) == len(app.spans) and found)
            stored = jaeger.spans(app.trace_id, raw=True)
            calls = wait_until(lambda: _calls(clickhouse, database) == LLM_CALLS and LLM_CALLS, timeout=30)
        finally:
            assert collectors[-1].stop() == 0, collectors[-1].text

    assert trace == [app.trace_id]
    assert shown, f"Jaeger never showed the {len(app.spans)} spans:\n{jaeger.peer.output}"
    assert sorted(span["spanId"] for span in shown) == sorted(app.span_ids)  # each span once
    # As stored, before Jaeger's adjusters: a span the forwarder re-sent is there as many times as it was sent,
    # byte for byte the same (at-least-once delivery), and Jaeger's DeduplicateSpans adjuster shows it once.
    copies = Counter(span["spanId"] for span in stored)
    assert set(copies) == app.span_ids
    print(f"spans Jaeger stored more than once after the restart: {sorted(c for c in copies.values() if c > 1)}")
    assert calls == LLM_CALLS  # and llm_calls counts each call once
    assert _hourly_calls(clickhouse, database) == LLM_CALLS


def test_jaeger_stores_a_span_sent_twice_twice_and_shows_it_once(jaeger):
    """What a re-send after a crash does in Jaeger, made certain: the same request twice."""
    body = conventions_request()
    request = ExportTraceServiceRequest.FromString(body)
    spans = [span for rs in request.resource_spans for ss in rs.scope_spans for span in ss.spans]
    trace_id = spans[0].trace_id.hex()
    span_ids = sorted(span.span_id.hex() for span in spans if span.trace_id.hex() == trace_id)
    url = f"http://127.0.0.1:{jaeger.peer.ports['JAEGER_OTLP_HTTP_PORT']}/v1/traces"
    post_otlp(url, body)
    post_otlp(url, body)

    stored = wait_until(lambda: len(found := jaeger.spans(trace_id, raw=True)) == 2 * len(span_ids) and found)
    assert sorted(span["spanId"] for span in stored) == sorted(span_ids * 2)
    assert sorted(span["spanId"] for span in jaeger.spans(trace_id)) == span_ids


def _trace_id_of_first_calls(clickhouse: Any, database: str) -> str:
    found = rows(clickhouse.connect(database), "SELECT DISTINCT TraceId FROM llm_calls")
    return str(found[0][0]) if found else ""


def _calls(clickhouse: Any, database: str) -> int:
    return int(rows(clickhouse.connect(database), "SELECT count() FROM llm_calls FINAL")[0][0])


def _hourly_calls(clickhouse: Any, database: str) -> int:
    return int(rows(clickhouse.connect(database), "SELECT sum(Calls) FROM llm_usage_hourly")[0][0])
