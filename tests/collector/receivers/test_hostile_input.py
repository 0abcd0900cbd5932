# SPDX-License-Identifier: Apache-2.0
"""Hostile input on both receivers: whatever arrives, the answer is a success or a 4xx / client status with a
clear message, never a 5xx / INTERNAL; absurd values are stored clamped and flagged without costing the batch
they came with; gzip bombs are refused without being inflated; and the collector is healthy afterwards.

Fuzzing uses hypothesis (bounded examples, no deadline) against receivers on real sockets over a real ClickHouse.
"""

from __future__ import annotations

import gzip
import http.client
import json
import socket
import tracemalloc
import zlib

import grpc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from llmledger.collector.exporters.clickhouse.writer import ClickHouseStore
from llmledger.collector.extract import conventions
from llmledger.collector.extract.bounds import MAX_TEXT, MAX_TOKENS, TRUNCATED
from llmledger.collector.health import health_routes
from llmledger.collector.pipeline.pipeline import Pipeline
from llmledger.collector.pipeline.queue import DiskQueue
from llmledger.collector.receivers._rejections import Rejections
from llmledger.collector.receivers.otlp_grpc import GrpcReceiver
from llmledger.collector.receivers.otlp_http import HttpReceiver, gunzip
from tests.collector.running import wait_for

from .conftest import PROTOBUF, grpc_export, otlp_body, otlp_json, post

LIMIT = 256 * 1024  # the receivers' --max-request-bytes here, small so limits are cheap to reach
FUZZ = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
_CLIENT_ERRORS = frozenset(
    {
        grpc.StatusCode.OK,
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.UNAUTHENTICATED,
    }
)


@pytest.fixture(scope="module")
def pipeline(client, tmp_path_factory):
    queue = DiskQueue(tmp_path_factory.mktemp("queue"))
    pipeline = Pipeline(ClickHouseStore(client), queue, flush_interval=0.1, batch_size=500).start()
    yield pipeline
    pipeline.stop(timeout=10)


@pytest.fixture(scope="module")
def receivers(client, pipeline):
    rejections = Rejections()
    routes = health_routes(pipeline, client.ping, rejections)
    limits = {"max_request_bytes": LIMIT, "rejections": rejections}
    grpc_receiver = GrpcReceiver(pipeline, port=0, **limits).start()
    http_receiver = HttpReceiver(pipeline, port=0, routes=routes, **limits).start()
    yield grpc_receiver, http_receiver, rejections
    http_receiver.stop()
    grpc_receiver.stop()


def assert_healthy(receivers) -> None:
    grpc_receiver, http_receiver, _ = receivers
    assert post(http_receiver.port, otlp_body(), PROTOBUF)[0] == 200
    assert grpc_export(grpc_receiver.port, otlp_body()) == grpc.StatusCode.OK
    assert post(http_receiver.port, path="/readyz", method="GET")[0] == 200


# -- fuzzing ------------------------------------------------------------------------------------------------

VALID = [otlp_body(), otlp_json(), otlp_body(**{"gen_ai.usage.cost": 0.25, "llmledger.tenant": "t"})]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A valid body with bytes flipped, inserted, deleted or cut off; or random bytes."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=2048))
    body = bytearray(draw(st.sampled_from(VALID)))
    for _ in range(draw(st.integers(1, 8))):
        position = draw(st.integers(0, len(body)))
        action = draw(st.sampled_from(["flip", "insert", "delete", "cut"]))
        if action == "flip" and position < len(body):
            body[position] = draw(st.integers(0, 255))
        elif action == "insert":
            body[position:position] = draw(st.binary(min_size=1, max_size=16))
        elif action == "delete":
            del body[position : position + draw(st.integers(1, 16))]
        elif action == "cut":
            del body[position:]
    return bytes(body)


@FUZZ
@given(
    body=mutated(),
    content_type=st.sampled_from(["application/x-protobuf", "application/json", "text/plain", ""]),
    compress=st.sampled_from(["none", "gzip", "gzip-then-mutate", "bogus"]),
)
def test_fuzzed_http_bodies_never_get_a_5xx(receivers, body, content_type, compress):
    _, http_receiver, _ = receivers
    headers = {"Content-Type": content_type} if content_type else {}
    if compress != "none":
        headers["Content-Encoding"] = "gzip" if compress != "bogus" else "br"
        body = gzip.compress(body) if compress != "gzip-then-mutate" else gzip.compress(body)[: len(body) // 2 + 5]

    status, _, answer = post(http_receiver.port, body, headers)

    assert status < 500, answer
    if status >= 400:
        assert answer  # always a message saying what was wrong


@FUZZ
@given(body=mutated(), compressed=st.booleans())
def test_fuzzed_grpc_messages_never_get_internal(receivers, body, compressed):
    grpc_receiver, _, _ = receivers

    code = grpc_export(grpc_receiver.port, body, compression=grpc.Compression.Gzip if compressed else None)

    assert code in _CLIENT_ERRORS


# Structurally valid requests whose values are anything at all, under the keys extraction reads.
_ANY_SCALAR = st.one_of(
    st.integers(-(2**63), 2**63 - 1).map(lambda n: AnyValue(int_value=n)),
    st.floats(allow_nan=True, allow_infinity=True).map(lambda x: AnyValue(double_value=x)),
    st.text(max_size=40).map(lambda s: AnyValue(string_value=s)),
    st.sampled_from(["-5", "1e400", "NaN", "inf", "9" * 50, "٣", "0x10", " 7 ", "1e-999999999"]).map(
        lambda s: AnyValue(string_value=s)
    ),
    st.booleans().map(lambda b: AnyValue(bool_value=b)),
    st.binary(max_size=16).map(lambda b: AnyValue(bytes_value=b)),
    st.just(AnyValue()),
)
_ANY_VALUE = st.one_of(
    _ANY_SCALAR, st.lists(_ANY_SCALAR, max_size=3).map(lambda items: AnyValue(array_value=ArrayValue(values=items)))
)
_KEYS = st.sampled_from(sorted(conventions.READ))


@st.composite
def absurd_requests(draw: st.DrawFn) -> ExportTraceServiceRequest:
    spans = []
    for index in range(draw(st.integers(1, 4))):
        attributes = [KeyValue(key=key, value=draw(_ANY_VALUE)) for key in draw(st.lists(_KEYS, max_size=12))]
        attributes.append(KeyValue(key="gen_ai.usage.input_tokens", value=draw(_ANY_VALUE)))
        spans.append(
            Span(
                trace_id=draw(st.binary(min_size=0, max_size=20)),
                span_id=draw(st.binary(min_size=0, max_size=10)) + bytes([index]),
                name=draw(st.text(max_size=30)),
                start_time_unix_nano=draw(st.integers(0, 2**64 - 1)),
                end_time_unix_nano=draw(st.integers(0, 2**64 - 1)),
                attributes=attributes,
            )
        )
    return ExportTraceServiceRequest(resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=spans)])])


@FUZZ
@given(request=absurd_requests(), over_grpc=st.booleans())
def test_absurd_values_in_valid_requests_are_accepted_and_never_fail_a_write(receivers, pipeline, request, over_grpc):
    grpc_receiver, http_receiver, _ = receivers
    body = request.SerializeToString()

    if over_grpc:
        assert grpc_export(grpc_receiver.port, body) == grpc.StatusCode.OK
    else:
        status, _, answer = post(http_receiver.port, body, PROTOBUF)
        assert status == 200, answer
    assert pipeline.stats.write_errors == 0


# -- limits -------------------------------------------------------------------------------------------------


def test_a_body_over_the_limit_is_refused_with_413_before_it_is_read(receivers):
    _, http_receiver, _ = receivers

    status, _, answer = post(http_receiver.port, b"\0" * (LIMIT + 1), PROTOBUF)

    assert status == 413
    assert b"exceeds the limit" in answer


def test_a_grpc_message_over_the_limit_is_resource_exhausted(receivers):
    grpc_receiver, _, _ = receivers

    assert grpc_export(grpc_receiver.port, b"\0" * (LIMIT + 1)) == grpc.StatusCode.RESOURCE_EXHAUSTED


def _bomb(decompressed: int) -> bytes:
    """gzip of `decompressed` zero bytes, made in steps (the test never holds the inflated size either)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * (1 << 20)
    parts = [compressor.compress(block) for _ in range(decompressed >> 20)]
    return b"".join(parts) + compressor.flush()


def test_a_gzip_bomb_is_refused_with_413_without_inflating_it(receivers):
    _, http_receiver, rejections = receivers
    bomb = _bomb(256 << 20)  # 256 MiB of zeros in ~250 KiB: under the limit compressed
    assert len(bomb) < LIMIT
    before = rejections.snapshot().get(("http", "too_large"), 0)

    status, _, answer = post(http_receiver.port, bomb, dict(PROTOBUF, **{"Content-Encoding": "gzip"}))

    assert status == 413
    assert b"decompressed body exceeds the limit" in answer
    assert rejections.snapshot()[("http", "too_large")] == before + 1


def test_decompression_allocates_no_more_than_the_limit():
    bomb = _bomb(64 << 20)
    tracemalloc.start()
    try:
        with pytest.raises(Exception, match="exceeds the limit"):
            gunzip(bomb, 1 << 20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 6 << 20  # the 1 MiB limit, a 1 MiB step and buffers; never the 64 MiB


def test_concatenated_gzip_members_are_all_read(receivers):
    _, http_receiver, _ = receivers
    body = otlp_body()
    split = len(body) // 2
    two_members = gzip.compress(body[:split]) + gzip.compress(body[split:])

    status, _, _ = post(http_receiver.port, two_members, dict(PROTOBUF, **{"Content-Encoding": "gzip"}))

    assert status == 200


def test_a_grpc_gzip_bomb_is_refused_without_reaching_the_handler(receivers):
    grpc_receiver, _, _ = receivers
    body = b"\x0a\x00" * (LIMIT)  # a valid request (empty resource_spans, repeated) twice the limit inflated

    code = grpc_export(grpc_receiver.port, body, compression=grpc.Compression.Gzip)

    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        ({"Content-Length": "-5"}, None, 400),
        ({"Content-Length": "12abc"}, None, 400),
        ({"Transfer-Encoding": "chunked"}, b"zz\r\n", 400),
        ({"Content-Encoding": "gzip"}, b"not gzip", 400),
        ({"Content-Encoding": "deflate"}, b"x", 415),
        ({"Content-Type": "application/json"}, b"[" * 100_000 + b"]" * 100_000, 400),
        ({"Content-Type": "application/json"}, b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"name": 5}]}]}]}', 400),
        ({"Content-Type": "application/json"}, b'{"resourceSpans": "\xff\xfe"}', 400),
        (
            {"Content-Type": "application/json"},
            b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"name": "\\ud800"}]}]}]}',
            400,
        ),
    ],
)
def test_malformed_framing_and_payloads_get_a_4xx_with_a_message(receivers, headers, body, status):
    _, http_receiver, _ = receivers
    connection = http.client.HTTPConnection("127.0.0.1", http_receiver.port, timeout=30)
    connection.putrequest("POST", "/v1/traces", skip_accept_encoding=True)
    headers = {"Content-Type": "application/x-protobuf", **headers}
    if body is not None and "Transfer-Encoding" not in headers:
        headers.setdefault("Content-Length", str(len(body)))
    for name, value in headers.items():
        connection.putheader(name, value)
    connection.endheaders()
    if body is not None:
        connection.send(body)
    response = connection.getresponse()

    assert response.status == status
    assert response.read()
    connection.close()


def test_unknown_fields_are_ignored_in_json_and_protobuf(receivers):
    _, http_receiver, _ = receivers
    document = json.loads(otlp_json())
    document["somethingNew"] = {"x": 1}
    document["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["futureField"] = [1, 2]
    with_unknown_field = otlp_body() + b"\xfa\x07\x03abc"  # field 127, length-delimited

    assert post(http_receiver.port, json.dumps(document).encode(), {"Content-Type": "application/json"})[0] == 200
    assert post(http_receiver.port, with_unknown_field, PROTOBUF)[0] == 200


# -- absurd values are clamped and flagged, and the rest of the batch is stored ---------------------------------


def test_absurd_values_are_stored_clamped_and_flagged_next_to_a_normal_call(receivers, pipeline, client):
    _, http_receiver, _ = receivers
    absurd = {
        "llmledger.tenant": "absurd-" + "x" * 5000,
        "gen_ai.usage.input_tokens": 2**62,
        "gen_ai.usage.output_tokens": -7,
        "gen_ai.response.time_to_first_chunk": float("nan"),
        "gen_ai.request.model": "m" * 100_000,
    }
    request = ExportTraceServiceRequest.FromString(otlp_body(**absurd))
    request.resource_spans[0].scope_spans[0].spans[0].start_time_unix_nano = 2**64 - 1
    normal = ExportTraceServiceRequest.FromString(otlp_body(**{"llmledger.tenant": "absurd-neighbour"}))
    request.resource_spans.extend(normal.resource_spans)

    status, _, answer = post(http_receiver.port, request.SerializeToString(), PROTOBUF)

    assert status == 200, answer
    assert ExportTraceServiceResponse.FromString(answer).partial_success.rejected_spans == 0
    query = (
        "SELECT Tenant, InputTokens, OutputTokens, length(RequestModel), TimeToFirstChunkMs, Attributes "
        "FROM llm_calls FINAL WHERE Tenant LIKE 'absurd-%' ORDER BY Tenant"
    )
    wait_for(lambda: len(client.query(query).result_rows), 2, timeout=30)
    rows = client.query(query).result_rows
    assert len(rows) == 2, rows
    (flagged, neighbour) = sorted(rows, key=lambda row: row[0] == "absurd-neighbour")
    assert len(flagged[0]) == MAX_TEXT
    assert flagged[1:5] == (MAX_TOKENS, 0, MAX_TEXT, 0.0)
    assert set(flagged[5][TRUNCATED].split(",")) == {
        "timestamp_ns",
        "input_tokens",
        "time_to_first_chunk_ms",
        "tenant",
        "request_model",
    }
    assert TRUNCATED not in neighbour[5]


def test_a_cost_too_large_to_store_is_a_partial_success_over_http(receivers):
    _, http_receiver, _ = receivers

    status, _, answer = post(http_receiver.port, otlp_body(**{"gen_ai.usage.cost": "1e400"}), PROTOBUF)

    assert status == 200
    assert ExportTraceServiceResponse.FromString(answer).partial_success.rejected_spans == 1


@FUZZ
@given(
    head=st.one_of(
        st.binary(max_size=300),
        st.builds(
            lambda method, path, version, header: f"{method} {path} {version}\r\n{header}\r\n\r\n".encode(
                "utf-8", "surrogatepass"
            ),
            st.sampled_from(["GET", "POST", "HEAD", "OPTIONS", "FOO", "TRACE", "", "G\x00T"]),
            st.sampled_from(["/v1/traces", "/metrics", "/readyz", "*", "", "/" + "a" * 70_000, "/%ff"]),
            st.sampled_from(["HTTP/1.1", "HTTP/1.0", "HTTP/0.9", "HTTP/2.0", "HTTP/x", ""]),
            st.text(max_size=60),
        ),
    )
)
def test_fuzzed_request_heads_never_get_a_5xx(receivers, head):
    _, http_receiver, _ = receivers
    with socket.create_connection(("127.0.0.1", http_receiver.port), timeout=30) as connection:
        connection.sendall(head)
        connection.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    if answer.startswith(b"HTTP/"):
        assert int(answer.split(b" ", 2)[1]) < 500, answer[:200]


# last, after everything above was thrown at the receivers
def test_the_collector_is_healthy_after_fuzzing_and_wrote_every_batch(receivers, pipeline, client):
    assert_healthy(receivers)
    assert wait_for(lambda: pipeline.stats.calls_written == pipeline.stats.calls, True, timeout=30)
    assert pipeline.stats.write_errors == 0


@pytest.mark.parametrize("sent", [b"", b"POST /v1/traces HTTP/1.1\r\nContent-Length: 100\r\n\r\npartial"])
def test_a_connection_gone_quiet_is_closed_after_the_idle_timeout(pipeline, sent):
    """Idle between requests, or stalled inside one: the server hangs up rather than hold a thread forever."""
    receiver = HttpReceiver(pipeline, port=0, idle_timeout=0.5).start()
    try:
        with socket.create_connection(("127.0.0.1", receiver.port), timeout=10) as connection:
            connection.sendall(sent)
            connection.settimeout(10)  # bounded: far longer than the server's 0.5 s
            assert connection.recv(4096) == b""  # closed by the server, nothing answered
        assert post(receiver.port, otlp_body(), PROTOBUF)[0] == 200  # and it still serves
    finally:
        receiver.stop()
