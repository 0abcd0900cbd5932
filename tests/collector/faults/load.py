# SPDX-License-Identifier: Apache-2.0
"""A load generator: OTLP/HTTP protobuf requests of LLM spans with known USD cost, and a ledger of what was
acknowledged.

Spans carry the attributes our instrumentation writes (gen_ai.* usage, gen_ai.usage.cost and the
llmledger.cost.* breakdown), so the collector stores the cost as reported, and every span's cost is known here to
the last digit. A span counts as acknowledged only when its request got a 200 (gRPC: OK): that is the set the
collector promises never to lose. Requests that fail (refused, reset by a kill, 429, 5xx, a gRPC error) are
counted, never re-sent: their spans may or may not be stored.
"""

from __future__ import annotations

import http.client
import itertools
import os
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal

import grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from tests.collector.running import Collector

SERVICE = "fault-load"
_GRPC_EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
_USERS = ("user-1", "user-2", "user-3")


def _attribute(key: str, value: str | int | float) -> KeyValue:
    if isinstance(value, str):
        return KeyValue(key=key, value=AnyValue(string_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    return KeyValue(key=key, value=AnyValue(double_value=value))


def llm_attributes(number: int) -> tuple[dict[str, str | int | float], Decimal]:
    """The attributes of our instrumentation's chat span number `number`, and its total cost. Costs have at most
    8 decimals, so the float on the wire reads back as the exact Decimal."""
    input_tokens, output_tokens = 100 + number % 900, 10 + number % 90
    input_cost = Decimal(input_tokens * 15) / 10**8  # 0.15 USD per million
    output_cost = Decimal(output_tokens * 60) / 10**8  # 0.6 USD per million
    total = input_cost + output_cost
    attributes: dict[str, str | int | float] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "gen_ai.usage.input_tokens": input_tokens,
        "gen_ai.usage.output_tokens": output_tokens,
        "gen_ai.usage.cost": float(total),
        "gen_ai.usage.cost.currency": "USD",
        "gen_ai.usage.cost.source": "local",
        "llmledger.cost.input": float(input_cost),
        "llmledger.cost.output": float(output_cost),
        "llmledger.tenant": "acme",
        "llmledger.user_id": _USERS[number % len(_USERS)],
    }
    return attributes, total


def llm_span(number: int) -> tuple[Span, Decimal]:
    """Chat span number `number` as OTLP protobuf, and its total cost."""
    attributes, total = llm_attributes(number)
    now = time.time_ns()
    span = Span(
        trace_id=os.urandom(16),
        span_id=os.urandom(8),
        name="chat gpt-4o-mini",
        kind=Span.SPAN_KIND_CLIENT,
        start_time_unix_nano=now - 250_000_000,
        end_time_unix_nano=now,
    )
    span.attributes.extend(_attribute(key, value) for key, value in attributes.items())
    return span, total


def llm_request(first: int, spans: int) -> tuple[ExportTraceServiceRequest, dict[str, Decimal]]:
    """A request of `spans` LLM spans numbered from `first`, and their costs by span id (hex)."""
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.extend([_attribute("service.name", SERVICE)])
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = "llmledger.instrumentation.openai"
    costs = {}
    for number in range(first, first + spans):
        span, cost = llm_span(number)
        scope_spans.spans.append(span)
        costs[span.span_id.hex()] = cost
    return request, costs


@dataclass
class Ledger:
    """What the senders saw: spans acknowledged (200) with their cost, and every other outcome by kind."""

    acknowledged: dict[str, Decimal] = field(default_factory=dict, repr=False)
    acknowledged_requests: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def ack(self, costs: dict[str, Decimal]) -> None:
        with self._lock:
            self.acknowledged.update(costs)
            self.acknowledged_requests += 1

    def fail(self, kind: str) -> None:
        with self._lock:
            self.failures[kind] = self.failures.get(kind, 0) + 1

    def snapshot(self) -> dict[str, Decimal]:
        with self._lock:
            return dict(self.acknowledged)

    @property
    def usd(self) -> Decimal:
        return sum(self.snapshot().values(), Decimal(0))


class LoadGenerator:
    """`senders` threads sending requests of `spans_per_request` LLM spans back to back to a collector, over
    OTLP/HTTP protobuf or OTLP/gRPC, until stopped or `max_requests` were sent. Each request is sent once; its
    outcome goes in `ledger`."""

    def __init__(
        self,
        target: Collector,
        *,
        transport: str = "http",
        senders: int = 2,
        spans_per_request: int = 20,
        max_requests: int = 5000,
    ) -> None:
        self.target = target
        self.transport = transport
        self.spans_per_request = spans_per_request
        self.ledger = Ledger()
        self._numbers = itertools.count()
        self._budget = itertools.count()
        self._max_requests = max_requests
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._send, daemon=True) for _ in range(senders)]

    def __enter__(self) -> LoadGenerator:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self) -> Ledger:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)
        assert not any(thread.is_alive() for thread in self._threads), "a sender did not stop"
        return self.ledger

    def wait_acknowledged(self, requests: int, timeout: float = 60) -> None:
        """Block until `requests` more requests than now were acknowledged (bounded)."""
        target = self.ledger.acknowledged_requests + requests
        deadline = time.monotonic() + timeout
        while self.ledger.acknowledged_requests < target:
            assert time.monotonic() < deadline, f"{target} requests never acknowledged: {self.ledger}"
            assert not self._stop.is_set() and any(t.is_alive() for t in self._threads), "the senders stopped"
            time.sleep(0.05)

    def _send(self) -> None:
        sender = _HttpSender(self.target.http_port) if self.transport == "http" else _GrpcSender(self.target)
        try:
            while not self._stop.is_set() and next(self._budget) < self._max_requests:
                request, costs = llm_request(next(self._numbers) * self.spans_per_request, self.spans_per_request)
                failure = sender.send(request.SerializeToString())
                if failure is None:
                    self.ledger.ack(costs)
                else:
                    self.ledger.fail(failure)
                    self._stop.wait(0.05)
        finally:
            sender.close()


class _HttpSender:
    """POST /v1/traces on one keep-alive connection, reopened after a failure."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._connection: http.client.HTTPConnection | None = None

    def send(self, body: bytes) -> str | None:
        """None if acknowledged, else what happened."""
        try:
            if self._connection is None:
                self._connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            self._connection.request("POST", "/v1/traces", body, {"Content-Type": "application/x-protobuf"})
            response = self._connection.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException) as error:  # refused, reset by a kill, closed mid-response
            self.close()
            return type(error).__name__
        if response.status != 200:
            return f"HTTP {response.status}"
        return "partial success" if _rejected_spans(payload) else None

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
        self._connection = None


class _GrpcSender:
    """TraceService/Export of the serialized request on one channel (which reconnects by itself)."""

    def __init__(self, target: Collector) -> None:
        self._channel = grpc.insecure_channel(target.grpc_endpoint)
        self._export = self._channel.unary_unary(_GRPC_EXPORT)

    def send(self, body: bytes) -> str | None:
        try:
            payload = self._export(body, timeout=30)
        except grpc.RpcError as error:
            return error.code().name
        return "partial success" if _rejected_spans(payload) else None

    def close(self) -> None:
        self._channel.close()


def send(target: Collector, requests: int, transport: str = "http") -> dict[str, Decimal]:
    """Send `requests` requests and wait until each is answered (bounded); the spans acknowledged."""
    with LoadGenerator(target, transport=transport, max_requests=requests) as load:
        load.wait_acknowledged(requests)
        return load.stop().snapshot()


def _rejected_spans(payload: bytes) -> int:
    """Spans a 200 says it rejected (OTLP partial success): those were not acknowledged."""
    response = ExportTraceServiceResponse()
    response.ParseFromString(payload)
    return response.partial_success.rejected_spans
