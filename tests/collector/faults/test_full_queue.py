# SPDX-License-Identifier: Apache-2.0
"""A full queue (tiny --queue-max-bytes, ClickHouse down) refuses with a retry delay — OTLP/HTTP 429 with
Retry-After, OTLP/gRPC RESOURCE_EXHAUSTED with RetryInfo — and the standard OpenTelemetry exporters, retrying on
their own, get every span stored once ClickHouse is back."""

from __future__ import annotations

import http.client
import logging
import threading
from decimal import Decimal

import grpc
from google.rpc.error_details_pb2 import RetryInfo
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from tests.collector.running import wait_for

from .accounting import assert_exactly_once, wait_stored
from .load import SERVICE, Ledger, llm_attributes, llm_request
from .processes import collector

QUEUE_MAX_BYTES = 64 * 1024


def _fill(port: int, ledger: Ledger, limit: int = 500) -> http.client.HTTPResponse:
    """POST requests until one is refused; the refusal."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        for number in range(limit):
            request, costs = llm_request(number * 10, 10)
            connection.request(
                "POST", "/v1/traces", request.SerializeToString(), {"Content-Type": "application/x-protobuf"}
            )
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                return response
            ledger.ack(costs)
    finally:
        connection.close()
    raise AssertionError(f"{limit} requests fit in a queue of {QUEUE_MAX_BYTES} bytes")


def _spans(first: int, count: int) -> tuple[list[ReadableSpan], dict[str, Decimal]]:
    """Finished SDK spans of our instrumentation, and their costs by span id."""
    provider = TracerProvider(resource=Resource.create({"service.name": SERVICE}))
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("llmledger.instrumentation.openai", "0.1.0")
    costs = {}
    for number in range(first, first + count):
        attributes, cost = llm_attributes(number)
        with tracer.start_as_current_span("chat gpt-4o-mini", kind=SpanKind.CLIENT, attributes=attributes) as span:
            costs[f"{span.get_span_context().span_id:016x}"] = cost
    provider.shutdown()
    return list(memory.get_finished_spans()), costs


class _Retries(logging.Handler):
    """The exporters' own word that they were refused and will retry."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []
        self.transports: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        if "Transient error" in record.getMessage():
            self.messages.append(record.getMessage())
            self.transports.add("grpc" if ".grpc." in record.name else "http")


def test_a_full_queue_refuses_with_a_retry_delay_and_the_standard_exporters_deliver_everything(
    server, database, tmp_path
):
    running = collector(server, database, tmp_path / "queue", "--queue-max-bytes", str(QUEUE_MAX_BYTES))
    retries = _Retries()
    logging.getLogger("opentelemetry.exporter").addHandler(retries)
    try:
        server.stop()
        filled = Ledger()
        refusal = _fill(running.http_port, filled)
        assert refusal.status == 429
        assert int(refusal.headers["Retry-After"]) >= 1
        assert filled.acknowledged_requests >= 1

        request, _ = llm_request(0, 10)
        with grpc.insecure_channel(running.grpc_endpoint) as channel:
            try:
                TraceServiceStub(channel).Export(request, timeout=30)
                raise AssertionError("a full queue accepted a gRPC request")
            except grpc.RpcError as error:
                assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
                retry = RetryInfo.FromString(dict(error.trailing_metadata())["google.rpc.retryinfo-bin"])
                assert retry.retry_delay.seconds >= 1

        http_spans, http_costs = _spans(100_000, 50)
        grpc_spans, grpc_costs = _spans(200_000, 50)
        exporters = {
            "http": (HttpExporter(endpoint=running.http_url, timeout=60), http_spans),
            "grpc": (GrpcExporter(endpoint=running.grpc_endpoint, insecure=True, timeout=60), grpc_spans),
        }
        results: dict[str, SpanExportResult] = {}
        threads = [
            threading.Thread(target=lambda name=name, e=e, s=s: results.__setitem__(name, e.export(s)), daemon=True)
            for name, (e, s) in exporters.items()
        ]
        for thread in threads:
            thread.start()
        refused = wait_for(lambda: retries.transports, {"http", "grpc"}, timeout=30)
        assert refused == {"http", "grpc"}, f"not every exporter was refused: {retries.messages}"
        server.start()
        for thread in threads:
            thread.join(90)
        assert results == {"http": SpanExportResult.SUCCESS, "grpc": SpanExportResult.SUCCESS}, retries.messages
        acknowledged = {**filled.snapshot(), **http_costs, **grpc_costs}
        assert wait_stored(server, database, acknowledged) == 0
    finally:
        logging.getLogger("opentelemetry.exporter").removeHandler(retries)
        server.start()
        assert running.stop() == 0, running.text
    assert_exactly_once(server, database, acknowledged)
