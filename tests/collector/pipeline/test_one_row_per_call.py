# SPDX-License-Identifier: Apache-2.0
"""One provider call, one row in llm_calls and in the rollups, on a real ClickHouse and a real disk queue: a
framework's span around the SDK's, a second exporter's span in a trace of its own, spans arriving in later requests,
after a restart, and delivered twice. Every span without a row of its own is in llm_call_spans, naming the row."""

from __future__ import annotations

from decimal import Decimal

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmledger.collector.exporters.clickhouse.writer import ClickHouseStore
from llmledger.collector.pipeline.pipeline import Pipeline
from llmledger.collector.pipeline.queue import DiskQueue

_OURS = {  # llmledger's span of the call: exact usage, its cost broken down
    "gen_ai.provider.name": "openai",
    "gen_ai.operation.name": "chat",
    "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.usage.input_tokens": 1200,
    "gen_ai.usage.output_tokens": 50,
    "gen_ai.usage.cache_read.input_tokens": 1024,
    "gen_ai.usage.cost.amount": 0.0001,
    "llmledger.cost.input": 0.0000264,
    "llmledger.cost.cache_read": 0.0000768,
    "llmledger.cost.output": 0.00003,
}
_FRAMEWORK = {  # pydantic-ai's `chat gpt-4o-mini` around it: usage without the cache, no cost
    "gen_ai.system": "openai",
    "gen_ai.operation.name": "chat",
    "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.usage.input_tokens": 1200,
    "gen_ai.usage.output_tokens": 50,
}


class _App:
    """An app's tracer; `requests()` is what its exporter sent since the last call, one OTLP request."""

    def __init__(self, service: str = "app") -> None:
        self.exporter = InMemorySpanExporter()
        provider = TracerProvider(resource=Resource.create({"service.name": service}))
        provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.tracer = provider.get_tracer("t")

    def call(self, response_id: str, *, framework: bool = True, framework_id: bool = False) -> None:
        if not framework:
            with self.tracer.start_as_current_span("chat gpt-4o-mini", attributes=_ours(response_id)):
                return
        outer = {**_FRAMEWORK, **({"gen_ai.response.id": response_id} if framework_id else {})}
        with (
            self.tracer.start_as_current_span("agent run"),
            self.tracer.start_as_current_span("chat gpt-4o-mini", attributes=outer),
            self.tracer.start_as_current_span("chat gpt-4o-mini", attributes=_ours(response_id)),
        ):
            pass

    def request(self):
        request = encode_spans(self.exporter.get_finished_spans())
        self.exporter.clear()
        return request


def _ours(response_id: str) -> dict:
    return {**_OURS, "gen_ai.response.id": response_id}


def _queue(path) -> DiskQueue:
    return DiskQueue(path / "queue", ("store",), max_bytes=1 << 24)


def _pipeline(client, tmp_path) -> Pipeline:
    pipeline = Pipeline(ClickHouseStore(client), _queue(tmp_path), flush_interval=0.05)
    pipeline.remember_stored(ClickHouseStore(client).recent_call_keys(1000))  # as the service does at start
    return pipeline.start()


def _rows(client, service: str) -> list[tuple]:
    query = (
        "SELECT CallKey, InputTokens, CacheReadInputTokens, CostSource, TotalCost FROM llm_calls FINAL"
        " WHERE ServiceName = {s:String} ORDER BY CallKey"
    )
    return client.query(query, {"s": service}).result_rows


def _folded(client, service: str) -> list[tuple]:
    query = (
        "SELECT s.CallKey, s.Reason, c.CallKey FROM llm_call_spans AS s FINAL"
        " JOIN llm_calls AS c FINAL ON c.TraceId = s.KeptTraceId AND c.SpanId = s.KeptSpanId"
        " WHERE s.ServiceName = {s:String} ORDER BY s.CallKey, s.Reason"
    )
    return client.query(query, {"s": service}).result_rows


def _rollup_calls(client, service: str) -> tuple:
    query = "SELECT sum(Calls), sum(TotalCost) FROM llm_usage_hourly WHERE ServiceName = {s:String}"
    return client.query(query, {"s": service}).result_rows[0]


def test_two_calls_through_a_framework_with_its_own_llm_spans_are_two_rows(client, tmp_path):
    app = _App("framework")
    app.call("chatcmpl-1")
    app.call("chatcmpl-2", framework_id=True)
    pipeline = _pipeline(client, tmp_path)
    pipeline.accept(app.request())
    pipeline.stop()
    cost = Decimal("0.000133200000")  # what our span reports: 0.0000264 + 0.0000768 + 0.00003
    assert _rows(client, "framework") == [
        ("chatcmpl-1", 1200, 1024, "instrumentation", cost),
        ("chatcmpl-2", 1200, 1024, "instrumentation", cost),
    ]
    assert _rollup_calls(client, "framework") == (2, 2 * cost)
    assert _folded(client, "framework") == [
        ("", "outer span of the call", "chatcmpl-1"),
        ("chatcmpl-2", "same response id", "chatcmpl-2"),  # both spans carry the id: the better one is kept
    ]
    assert pipeline.counters()["folded_spans"] == 2


def test_a_second_exporters_span_in_a_later_request_and_after_a_restart_adds_no_row(client, tmp_path):
    app, langsmith = _App("exporters"), _App("exporters")
    app.call("chatcmpl-3", framework=False)
    first = _pipeline(client, tmp_path)
    first.accept(app.request())
    with langsmith.tracer.start_as_current_span(
        "ChatOpenAI", attributes={**_FRAMEWORK, "gen_ai.response.id": "chatcmpl-3"}
    ):
        pass
    late = langsmith.request()
    first.accept(late)  # a later request, its own trace: folded into the stored row
    first.stop()
    assert [row[0] for row in _rows(client, "exporters")] == ["chatcmpl-3"]

    restarted = _pipeline(client, tmp_path)  # a new process: the memory comes from llm_calls
    restarted.accept(late)  # delivered again after the restart
    with langsmith.tracer.start_as_current_span(
        "ChatOpenAI", attributes={**_FRAMEWORK, "gen_ai.response.id": "chatcmpl-3"}
    ):
        pass
    restarted.accept(langsmith.request())  # and a third span of the call, first seen after the restart
    restarted.stop()
    assert [row[0] for row in _rows(client, "exporters")] == ["chatcmpl-3"]
    assert _rollup_calls(client, "exporters")[0] == 1
    assert _folded(client, "exporters") == [("chatcmpl-3", "same response id", "chatcmpl-3")] * 2
