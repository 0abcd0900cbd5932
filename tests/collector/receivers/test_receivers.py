# SPDX-License-Identifier: Apache-2.0
"""Receivers in-process over real sockets: back-pressure answers (429 + Retry-After, RESOURCE_EXHAUSTED + RetryInfo),
partial success over gRPC, and HTTP method/length errors."""

from __future__ import annotations

import http.client
import time
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from google.rpc.error_details_pb2 import RetryInfo
from google.rpc.status_pb2 import Status
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmledger.collector.exporters.clickhouse.client import connect
from llmledger.collector.exporters.clickhouse.embedded import free_port
from llmledger.collector.exporters.clickhouse.writer import ClickHouseStore
from llmledger.collector.pipeline.pipeline import Pipeline
from llmledger.collector.pipeline.queue import DiskQueue
from llmledger.collector.receivers.otlp_grpc import GrpcReceiver
from llmledger.collector.receivers.otlp_http import HttpReceiver

from .conftest import PROTOBUF, otlp_body, post, spans

_EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


def _body(cost: float | None = None) -> bytes:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    attributes = {"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 5}
    if cost is not None:
        attributes["gen_ai.usage.cost"] = cost
    with provider.get_tracer("t").start_as_current_span("call", attributes=attributes):
        pass
    return encode_spans(exporter.get_finished_spans()).SerializeToString()


@pytest.fixture
def receivers(clickhouse, client, tmp_path):
    """Receivers on a pipeline whose ClickHouse went away after connecting, its queue already full."""
    dead = connect(clickhouse.url, connect_timeout=1)
    dead.url = dead._backend.url = f"http://127.0.0.1:{free_port()}"
    queue = DiskQueue(tmp_path / "queue", max_bytes=1 << 16)
    while queue.size() < queue.max_bytes - 100:
        queue.append(b"." * min(4096, queue.max_bytes - queue.size() - 100))
    pipeline = Pipeline(ClickHouseStore(dead), queue, flush_interval=60, retry_delay=0.05).start()
    grpc_receiver = GrpcReceiver(pipeline, port=0).start()
    http_receiver = HttpReceiver(pipeline, port=0).start()
    yield grpc_receiver, http_receiver
    http_receiver.stop()
    grpc_receiver.stop()
    pipeline.stop(timeout=5)


def test_a_full_pipeline_answers_429_with_retry_after_and_resource_exhausted(receivers):
    grpc_receiver, http_receiver = receivers
    connection = http.client.HTTPConnection("127.0.0.1", http_receiver.port, timeout=10)
    headers = {"Content-Type": "application/x-protobuf"}
    connection.request("POST", "/v1/traces", body=_body(), headers=headers)
    refused = connection.getresponse()
    assert refused.status == 429
    assert refused.getheader("Retry-After") == "1"
    assert b"retry after" in refused.read()
    with grpc.insecure_channel(f"127.0.0.1:{grpc_receiver.port}") as channel, pytest.raises(grpc.RpcError) as raised:
        channel.unary_unary(_EXPORT)(_body(), timeout=10)
    assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    # the delay, where OTLP exporters look for it: RetryInfo alone (Python SDK) and in the rich status (Collector)
    trailers = dict(raised.value.trailing_metadata())
    assert RetryInfo.FromString(trailers["google.rpc.retryinfo-bin"]).retry_delay.seconds == 1
    status = Status.FromString(trailers["grpc-status-details-bin"])
    retry = RetryInfo()
    assert status.code == grpc.StatusCode.RESOURCE_EXHAUSTED.value[0] and status.details[0].Unpack(retry)
    assert retry.retry_delay.seconds == 1


def test_grpc_reports_rejected_spans_as_partial_success(client, tmp_path):
    pipeline = Pipeline(ClickHouseStore(client), DiskQueue(tmp_path / "queue"), flush_interval=0.1).start()
    receiver = GrpcReceiver(pipeline, port=0).start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{receiver.port}") as channel:
            reply = channel.unary_unary(_EXPORT)(_body(cost=2e6), timeout=10)
        partial = ExportTraceServiceResponse.FromString(reply).partial_success
        assert partial.rejected_spans == 1
        assert "million" in partial.error_message
    finally:
        receiver.stop()
        pipeline.stop()


@pytest.mark.parametrize(
    ("method", "headers", "status"),
    [("GET", {}, 405), ("PUT", {}, 405), ("POST", {"Content-Type": "application/x-protobuf"}, 411)],
)
def test_http_method_and_length_errors(receivers, method, headers, status):
    _, http_receiver = receivers
    connection = http.client.HTTPConnection("127.0.0.1", http_receiver.port, timeout=10)
    connection.putrequest(method, "/v1/traces")
    for name, value in headers.items():
        connection.putheader(name, value)
    connection.endheaders()
    response = connection.getresponse()
    assert response.status == status
    assert response.read()


def test_a_request_larger_than_the_whole_queue_is_refused_for_good_not_retried(client, tmp_path):
    """413 / INVALID_ARGUMENT (which exporters do not retry) rather than 429 / RESOURCE_EXHAUSTED forever."""
    queue = DiskQueue(tmp_path / "queue", max_bytes=1 << 16)
    pipeline = Pipeline(ClickHouseStore(client), queue, flush_interval=60).start()
    grpc_receiver = GrpcReceiver(pipeline, port=0).start()
    http_receiver = HttpReceiver(pipeline, port=0).start()
    huge = encode_spans(spans(2000)).SerializeToString()  # its calls take more than 64 KiB as queue records
    try:
        status, _, body = post(http_receiver.port, huge, PROTOBUF)
        assert status == 413
        assert b"more than the whole queue holds" in body
        channel = grpc.insecure_channel(f"127.0.0.1:{grpc_receiver.port}")
        with channel, pytest.raises(grpc.RpcError) as raised:
            channel.unary_unary(_EXPORT)(huge, timeout=10)
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert post(http_receiver.port, otlp_body(), PROTOBUF)[0] == 200  # a request that fits still does
        assert queue.size() > 0
    finally:
        http_receiver.stop()
        grpc_receiver.stop()
        pipeline.stop(timeout=5)


def test_connections_made_faster_than_they_are_accepted_wait_their_turn_rather_than_being_reset(client, tmp_path):
    """Exporters connecting in a burst while the accept loop lags (it shares the GIL with the requests being
    handled; here it has not started) wait in the listen backlog and are all answered: none is reset mid-request."""
    pipeline = Pipeline(ClickHouseStore(client), DiskQueue(tmp_path / "queue"), flush_interval=0.1).start()
    receiver = HttpReceiver(pipeline, port=0)  # listening, not accepting yet
    body = encode_spans(spans(100)).SerializeToString()
    try:
        with ThreadPoolExecutor(max_workers=32) as senders:
            sent = [senders.submit(post, receiver.port, body, PROTOBUF) for _ in range(32)]
            time.sleep(1.5)
            receiver.start()
            statuses = [answer.result()[0] for answer in sent]  # a reset raises ConnectionResetError here
    finally:
        receiver.stop()
        pipeline.stop()
    assert statuses == [200] * 32
