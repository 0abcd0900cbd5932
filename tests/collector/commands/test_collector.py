# SPDX-License-Identifier: Apache-2.0
"""`llmledger collector` end to end: real OTel SDK exporters → collector subprocess → real ClickHouse rows.

Every convention's span (tests/collector/conventions.py) is sent over OTLP/gRPC, OTLP/HTTP protobuf (gzip) and
OTLP/HTTP JSON; each must land as one llm_calls row with exact tokens and costs. Bad input gets a 4xx, the
collector keeps serving, and nothing is stored twice. SIGTERM flushes and exits 0.
"""

from __future__ import annotations

import gzip
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from decimal import Decimal

import grpc
import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmledger.collector.exporters.clickhouse.client import connect
from llmledger.collector.exporters.clickhouse.embedded import running_url
from llmledger.collector.exporters.clickhouse.writer import LLM_CALL_COLUMNS
from tests.collector.conventions import CONVENTIONS, not_llm_calls
from tests.collector.running import start_collector, to_otlp_json, wait_for

RESOURCE = {"service.name": "e2e-bot", "deployment.environment.name": "prod"}


@pytest.fixture(scope="module")
def collector(clickhouse, database, tmp_path_factory):
    running = start_collector(
        ["--clickhouse-url", clickhouse.url, "--database", database, "--flush-interval", "0.2", "--store-raw-spans"]
    )
    yield running
    assert running.stop() == 0, running.text
    assert "stopped after" in running.text


def _send_with(exporter) -> dict[str, dict]:
    """Emit every convention's span through `exporter`; expected fields by span id."""
    provider = TracerProvider(resource=Resource.create(RESOURCE))
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    expected = {}
    for name, build in CONVENTIONS.items():
        fields = build(provider)
        span = memory.get_finished_spans()[-1]
        expected[f"{span.context.span_id:016x}"] = {"convention": name, **fields}
    not_llm_calls(provider)
    provider.shutdown()
    return expected, memory.get_finished_spans()


def _rows(client, span_ids):
    columns = ", ".join(LLM_CALL_COLUMNS.values())
    result = client.query(
        f"SELECT {columns} FROM llm_calls FINAL WHERE SpanId IN {{ids:Array(String)}}", {"ids": list(span_ids)}
    )
    return {row["SpanId"]: row for row in result.named_results()}


def _assert_rows(client, expected):
    wait_for(lambda: len(_rows(client, expected)), len(expected))
    rows = _rows(client, expected)
    assert set(rows) == set(expected)
    for span_id, fields in expected.items():
        row = rows[span_id]
        actual = {name: row[LLM_CALL_COLUMNS[name]] for name in fields if name != "convention"}
        wanted = {name: value for name, value in fields.items() if name != "convention"}
        assert actual == wanted, fields["convention"]
        assert row["ServiceName"] == "e2e-bot" and row["Environment"] == "prod"
        total = sum(row[c] for c in ("InputCost", "CacheReadCost", "CacheWriteCost", "OutputCost", "OtherCost"))
        assert total == row["TotalCost"]


def test_grpc_exporter_spans_land_as_exact_rows(collector, client):
    expected, _ = _send_with(GrpcExporter(endpoint=collector.grpc_endpoint, insecure=True))
    _assert_rows(client, expected)


def test_http_protobuf_gzip_exporter_spans_land_as_exact_rows(collector, client):
    expected, _ = _send_with(HttpExporter(endpoint=collector.http_url, compression=Compression.Gzip))
    _assert_rows(client, expected)


def test_http_json_spans_land_as_exact_rows(collector, client):
    expected, spans = _send_with(None)
    status, body = _post(collector.http_url, to_otlp_json(encode_spans(spans)), "application/json")
    assert (status, body) == (200, b"{}")
    _assert_rows(client, expected)


def test_raw_spans_are_stored_for_every_span_with_exporter_spelling(collector, client):
    _, spans = _send_with(HttpExporter(endpoint=collector.http_url))
    trace_ids = sorted({f"{span.context.trace_id:032x}" for span in spans})
    query = "SELECT count() FROM otel_traces WHERE TraceId IN {ids:Array(String)}"
    count = wait_for(lambda: client.query(query, {"ids": trace_ids}).result_rows[0][0], len(spans))
    assert count == len(spans)
    anthropic = next(span for span in spans if span.name == "anthropic.messages.create")
    row = client.query(
        "SELECT TraceId, SpanId, ParentSpanId, SpanKind, StatusCode, ServiceName, ScopeName, Duration, Timestamp,"
        " SpanAttributes FROM otel_traces WHERE SpanId = {id:String}",
        {"id": f"{anthropic.context.span_id:016x}"},
    ).named_results()
    (row,) = list(row)
    assert row["TraceId"] == f"{anthropic.context.trace_id:032x}"
    assert (row["ParentSpanId"], row["SpanKind"], row["StatusCode"]) == ("", "Client", "Unset")
    assert (row["ServiceName"], row["ScopeName"]) == ("e2e-bot", "com.anthropic.sdk.python")
    assert row["Duration"] == anthropic.end_time - anthropic.start_time
    attributes = row["SpanAttributes"]
    assert attributes["gen_ai.usage.input_tokens"] == "2110"
    assert attributes["gen_ai.provider.name"] == "anthropic"
    ours = next(span for span in spans if span.name == "chat gpt-4o-mini" and span.attributes.get("llmledger.tenant"))
    (mine,) = client.query(
        "SELECT SpanAttributes FROM otel_traces WHERE SpanId = {id:String}", {"id": f"{ours.context.span_id:016x}"}
    ).result_rows
    assert mine[0]["gen_ai.response.finish_reasons"] == '["stop"]'
    assert mine[0]["gen_ai.request.stream"] == "true"
    assert mine[0]["gen_ai.usage.cost"] == "0.00024"
    assert mine[0]["llmledger.cost.cache_write"] == "0"


def _post(url, body, content_type, headers=None):
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": content_type, **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.mark.parametrize(
    ("path", "body", "content_type", "headers", "status", "message"),
    [
        ("/v1/traces", b"\xff\xff\xff", "application/x-protobuf", {}, 400, b"malformed protobuf"),
        ("/v1/traces", b"{}", "text/plain", {}, 415, b"unsupported Content-Type"),
        ("/v1/traces", b"", "application/x-protobuf", {}, 400, b"empty body"),
        ("/v1/traces", b"{nope", "application/json", {}, 400, b"invalid JSON"),
        ("/v1/traces", b"not gzip", "application/x-protobuf", {"Content-Encoding": "gzip"}, 400, b"not valid gzip"),
        ("/v1/traces", b"x", "application/x-protobuf", {"Content-Encoding": "br"}, 415, b"Content-Encoding"),
        ("/v1/profiles", b"x", "application/x-protobuf", {}, 404, b"no such path"),
    ],
)
def test_bad_http_input_gets_a_4xx_that_says_why(collector, path, body, content_type, headers, status, message):
    url = f"http://127.0.0.1:{collector.http_port}{path}"
    got_status, got_body = _post(url, body, content_type, headers)
    assert got_status == status
    assert message in got_body


def test_bad_grpc_input_is_invalid_argument_and_the_collector_keeps_serving_storing_nothing_twice(collector, client):
    with grpc.insecure_channel(collector.grpc_endpoint) as channel:
        export = channel.unary_unary("/opentelemetry.proto.collector.trace.v1.TraceService/Export")
        with pytest.raises(grpc.RpcError) as raised:
            export(b"\xff\xff\xff", timeout=10)
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "malformed" in raised.value.details()

    expected, spans = _send_with(None)
    body = encode_spans(spans).SerializeToString()
    for _ in range(2):  # an SDK retry after a lost response: same spans again
        assert _post(collector.http_url, body, "application/x-protobuf")[0] == 200
    assert (
        _post(collector.http_url, gzip.compress(body), "application/x-protobuf", {"Content-Encoding": "gzip"})[0] == 200
    )
    _assert_rows(client, expected)
    query = "SELECT count() FROM llm_calls WHERE SpanId IN {ids:Array(String)}"
    assert client.query(query, {"ids": list(expected)}).result_rows[0][0] == len(expected)
    raw = "SELECT count() FROM otel_traces WHERE SpanId IN {ids:Array(String)}"
    span_ids = [f"{span.context.span_id:016x}" for span in spans]
    # Raw spans are inserted right after the calls of the same batch: wait for them too.
    assert wait_for(lambda: client.query(raw, {"ids": span_ids}).result_rows[0][0], len(spans)) == len(spans)


def test_a_span_whose_cost_cannot_be_stored_is_rejected_as_partial_success(collector, client):
    provider = TracerProvider(resource=Resource.create(RESOURCE))
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("t")
    usage = {"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini", "gen_ai.usage.input_tokens": 1}
    with tracer.start_as_current_span("ok", attributes=usage):
        pass
    with tracer.start_as_current_span("absurd", attributes={**usage, "gen_ai.usage.cost": 5e6}):
        pass
    status, body = _post(
        collector.http_url, encode_spans(memory.get_finished_spans()).SerializeToString(), "application/x-protobuf"
    )
    assert status == 200
    response = ExportTraceServiceResponse.FromString(body)
    assert response.partial_success.rejected_spans == 1
    assert "million" in response.partial_success.error_message
    ok_id = f"{memory.get_finished_spans()[0].context.span_id:016x}"
    assert wait_for(lambda: len(_rows(client, [ok_id])), 1) == 1
    assert _rows(client, [ok_id])[ok_id]["TotalCost"] == Decimal("0.00000015")


def test_without_a_url_it_runs_the_embedded_clickhouse_from_a_config_file_and_stops_it(tmp_path):
    data_dir = tmp_path / "data"
    config = tmp_path / "collector.yaml"
    config.write_text(f"data_dir: {data_dir}\ndatabase: embedded_e2e\nflush_interval: 0.2\n")
    running = start_collector(["--config", str(config)])
    try:
        url = running_url(data_dir)
        assert url is not None and url in running.text
        expected, _ = _send_with(HttpExporter(endpoint=running.http_url))
        client = connect(url, database="embedded_e2e")
        try:
            _assert_rows(client, expected)
        finally:
            client.close()
    finally:
        assert running.stop() == 0, running.text
    assert running_url(data_dir) is None  # the embedded server stopped with the collector


def test_bad_settings_exit_2_with_a_message(tmp_path):
    config = tmp_path / "collector.yaml"
    config.write_text("grpc_port: lots\n")
    done = subprocess.run(
        [sys.executable, "-m", "llmledger.collector.cli", "collector", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "grpc_port" in done.stderr and str(config) in done.stderr
    done = subprocess.run(
        [sys.executable, "-m", "llmledger.collector.cli", "collector", "--forward", "ftp://x"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "grpc://host:port or http://host:port" in done.stderr


def test_a_broken_price_file_refuses_to_start_naming_the_variable_the_file_and_the_line(tmp_path):
    prices = tmp_path / "prices.yaml"
    prices.write_text("prices:\n  - model: gpt-4o*\n   input: 1\n")
    done = subprocess.run(
        [sys.executable, "-m", "llmledger.collector.cli", "collector", "--data-dir", str(tmp_path / "data")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "LLMLEDGER_PRICES_FILE": str(prices)},
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"LLMLEDGER_PRICES_FILE={prices}, line 3, column 4: not valid YAML" in done.stderr
    assert not (tmp_path / "data").exists()  # refused before starting anything


@pytest.mark.parametrize(("receiver", "flag"), [("OTLP/HTTP", "--http-port"), ("OTLP/gRPC", "--grpc-port")])
def test_a_port_in_use_exits_1_naming_the_address_the_port_and_the_option(clickhouse, database, receiver, flag):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        command = [sys.executable, "-m", "llmledger.collector.cli", "collector", "--grpc-port", "0", "--http-port", "0"]
        done = subprocess.run(
            [*command, flag, str(port), "--clickhouse-url", clickhouse.url, "--database", database],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"cannot listen for {receiver} on 127.0.0.1:{port}: address already in use" in done.stderr
    assert f"choose another port with {flag} PORT" in done.stderr


def test_with_a_token_file_and_tls_exporters_need_both_and_the_probes_stay_open(
    clickhouse, database, client, tmp_path, monkeypatch
):
    from tests.collector.receivers.conftest import post, spans
    from tests.collector.tls import make_tls

    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)  # requests prefers it to certificate_file
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    tls = make_tls(tmp_path)
    (tmp_path / "token").write_text("e2e-token\n")
    running = start_collector(
        [
            *("--clickhouse-url", clickhouse.url, "--database", database, "--flush-interval", "0.2"),
            *("--auth-token-file", str(tmp_path / "token")),
            *("--tls-cert", str(tls.files.cert), "--tls-key", str(tls.files.key)),
        ]
    )
    try:
        assert "with TLS, bearer token required" in running.text
        header = {"authorization": "Bearer e2e-token"}
        url = f"https://127.0.0.1:{running.http_port}/v1/traces"
        credentials = grpc.ssl_channel_credentials(tls.ca.read_bytes())
        sent = spans(2, **{"llmledger.tenant": "e2e-secured"})
        http_span, grpc_span = sent
        for exporter, span, result in [
            (HttpExporter(endpoint=url, certificate_file=str(tls.ca), timeout=10), http_span, "FAILURE"),
            (GrpcExporter(endpoint=running.grpc_endpoint, credentials=credentials, timeout=10), grpc_span, "FAILURE"),
            (
                HttpExporter(endpoint=url, certificate_file=str(tls.ca), headers=header, timeout=10),
                http_span,
                "SUCCESS",
            ),
            (
                GrpcExporter(endpoint=running.grpc_endpoint, credentials=credentials, headers=header, timeout=10),
                grpc_span,
                "SUCCESS",
            ),
        ]:
            assert exporter.export([span]).name == result
            exporter.shutdown()
        context = tls.client_context()
        assert post(running.http_port, path="/readyz", method="GET", tls=context)[0] == 200
        assert post(running.http_port, path="/metrics", method="GET", tls=context)[0] == 401
        status, _, body = post(running.http_port, path="/metrics", method="GET", tls=context, headers=header)
        assert status == 200
        assert (
            'llmledger_collector_rejected_requests_total{protocol="grpc",reason="unauthenticated"} 1' in body.decode()
        )
        count = "SELECT count() FROM llm_calls FINAL WHERE Tenant = 'e2e-secured'"
        assert wait_for(lambda: client.command(count), 2) == 2
    finally:
        assert running.stop() == 0, running.text


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--tls-cert", "cert.pem"], "tls_cert and tls_key go together"),
        (["--auth-token", "has space"], "visible ASCII"),
        (["--auth-token-file", "/nonexistent/token"], "cannot read the auth token file"),
        (["--tls-cert", "/nonexistent/c.pem", "--tls-key", "/nonexistent/k.pem"], "cannot use TLS certificate"),
        (["--max-request-bytes", "0"], "max_request_bytes"),
    ],
)
def test_bad_access_settings_exit_2_before_starting_anything(flags, message):
    done = subprocess.run(
        [sys.executable, "-m", "llmledger.collector.cli", "collector", *flags],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr
