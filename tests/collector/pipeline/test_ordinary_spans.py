# SPDX-License-Identifier: Apache-2.0
"""Spans that are not LLM calls cost no Python per span: the C reader recognises them from their attribute keys and
makes no object of them, the pipeline counts them and queues the request's bytes for the forwarder as they came.

Python's work is counted with a profile hook (every Python and builtin call) and the memory it allocates with
tracemalloc, for the same request shape with few and with many ordinary spans: both must not grow with the span
count. An app's request mixes them with a few LLM calls, which are still extracted.
"""

from __future__ import annotations

import gc
import sys
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from llmledger.collector.exporters.clickhouse.writer import ClickHouseStore
from llmledger.collector.exporters.forward import Forwarder
from llmledger.collector.extract import Extractor
from llmledger.collector.extract.extractor import NATIVE
from llmledger.collector.pipeline.pipeline import Pipeline
from llmledger.collector.pipeline.queue import DiskQueue
from llmledger.collector.pipeline.records import forwarded

pytestmark = pytest.mark.skipif(not NATIVE, reason="the C extractor is not built (no C compiler at install)")


def _kv(key: str, value: str | int) -> KeyValue:
    if isinstance(value, str):
        return KeyValue(key=key, value=AnyValue(string_value=value))
    return KeyValue(key=key, value=AnyValue(int_value=value))


def _request(ordinary: int) -> bytes:
    """`ordinary` HTTP, database and internal spans (with the `server.address` and `service.name`-style attributes
    the extractor reads, so they are not empty to it) and one LLM call, as an app's SDK exports them."""
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.append(_kv("service.name", "checkout"))
    scope = resource_spans.scope_spans.add()
    scope.scope.name = "opentelemetry.instrumentation.httpx"
    for index in range(ordinary):
        span = scope.spans.add(trace_id=index.to_bytes(16, "big"), span_id=(index + 1).to_bytes(8, "big"))
        span.name, span.kind = "GET", Span.SPAN_KIND_CLIENT
        span.start_time_unix_nano, span.end_time_unix_nano = 1_700_000_000 * 10**9, 1_700_000_001 * 10**9
        span.attributes.extend(
            [
                _kv("http.request.method", "GET"),
                _kv("url.full", f"https://inventory.internal/items/{index}"),
                _kv("server.address", "inventory.internal"),
                _kv("server.port", 443),
                _kv("http.response.status_code", 200),
                _kv("db.system.name", "postgresql"),
                _kv("deployment.environment.name", "prod"),  # read by extraction, but no mark of a call
            ]
        )
    llm = resource_spans.scope_spans.add()
    llm.scope.name = "llmledger.instrumentation.openai"
    call = llm.spans.add(trace_id=b"\x01" * 16, span_id=b"\x02" * 8, name="chat gpt-4o-mini")
    call.start_time_unix_nano, call.end_time_unix_nano = 1_700_000_000 * 10**9, 1_700_000_002 * 10**9
    call.attributes.extend(
        [
            _kv("gen_ai.operation.name", "chat"),
            _kv("gen_ai.provider.name", "openai"),
            _kv("gen_ai.request.model", "gpt-4o-mini"),
            _kv("gen_ai.response.id", "chatcmpl-1"),
            _kv("gen_ai.usage.input_tokens", 100),
            _kv("gen_ai.usage.output_tokens", 20),
        ]
    )
    return request.SerializeToString()


def _python_calls(work: Callable[[], Any]) -> int:
    """How many Python functions and builtins `work()` calls."""
    calls = 0

    def count(frame: Any, event: str, arg: Any) -> None:
        nonlocal calls
        if event in ("call", "c_call"):
            calls += 1

    gc.disable()
    sys.setprofile(count)
    try:
        work()
    finally:
        sys.setprofile(None)
        gc.enable()
    return calls


def _peak_bytes(work: Callable[[], Any]) -> int:
    """The most memory Python allocated at once while `work()` ran."""
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_ordinary_spans_are_counted_without_python_work_or_objects_of_their_own():
    extractor = Extractor()
    few, many = _request(10), _request(5_000)
    for body in (few, many):
        extracted = extractor.columns(body)  # warm: prices, memos
        assert len(extracted.columns) == 1  # the LLM call is extracted, the others counted
    assert extractor.columns(few).spans == 11 and extractor.columns(many).spans == 5_001

    assert _python_calls(lambda: extractor.columns(many)) == _python_calls(lambda: extractor.columns(few))
    # a Python object per span (a tuple of its fields, a dict of its attributes) is well over 100 bytes
    assert _peak_bytes(lambda: extractor.columns(many)) - _peak_bytes(lambda: extractor.columns(few)) < 5_000 * 8


def test_the_python_reference_leaves_out_the_same_spans():
    """The Python reader (the specification) gives what the C reader gives: the span count, and only the spans
    that may be LLM calls."""
    from llmledger.collector.extract.extractor import CALL_MARKERS
    from llmledger.collector.extract.read_spans import SpanReader

    body = _request(50)
    in_c, in_python = SpanReader(native=True), SpanReader(native=False)
    (count_c, scopes_c), (count_py, scopes_py) = in_c.marked(body, CALL_MARKERS), in_python.marked(body, CALL_MARKERS)
    assert count_c == count_py == 51
    assert [list(founds) for _, _, founds in scopes_c] == [list(founds) for _, _, founds in scopes_py]
    assert [len(spans) for _, spans, _ in scopes_c] == [0, 1]


def test_a_forwarding_pipeline_queues_the_request_bytes_and_does_no_python_per_ordinary_span(client, tmp_path):
    queue = DiskQueue(tmp_path / "queue", ("store", "forward"), max_bytes=1 << 26, sheddable=("forward",))
    # never started: only accept() runs, and what it queued is read back
    pipeline = Pipeline(ClickHouseStore(client), queue, forwarder=Forwarder("grpc://127.0.0.1:9"))
    few, many = _request(10), _request(5_000)
    for body in (few, many):  # warm, and what a second sending of each would cost below (re-sent calls)
        pipeline.accept(ExportTraceServiceRequest.FromString(body), body)

    def accept(body: bytes) -> Callable[[], Any]:
        request = ExportTraceServiceRequest.FromString(body)  # the receiver's validation, done before
        return lambda: pipeline.accept(request, body)

    # The fewest of three: a call may also wake the queue's writer thread (a condition's notify walks its
    # waiters) or run a collection's finalizers, which are not the request's work.
    assert min(_python_calls(accept(many)) for _ in range(3)) == min(_python_calls(accept(few)) for _ in range(3))
    assert pipeline.stats.spans == 4 * (11 + 5_001)
    records, position = [], 0
    while batch := queue.read(position, max_bytes=1 << 26):  # a read ends at its segment's end
        records += [record.payload for record in batch]
        position = batch[-1].end
    assert [forwarded(payload) for payload in records if forwarded(payload)] == [
        ("traces", body)
        for body in (few, many, many, many, many, few, few, few)  # in the order accepted
    ]
    queue.close()
