# SPDX-License-Identifier: Apache-2.0
"""The Mistral instrumentor's promises to the app: the same results and errors as without it, one span per call
that ends exactly once however a stream ends, content only when asked, metrics, and zero-code activation."""

from __future__ import annotations

import asyncio
import json

import pytest

from llmledger.instrumentation.mistral import MistralInstrumentor
from tests.instrumentation import zero_code
from tests.instrumentation.imports import loaded_by, patched_on_import
from tests.instrumentation.mistral import transport
from tests.instrumentation.mistral.transport import CHAT, CHAT_STREAM, MESSAGES
from tests.instrumentation.openai.transport import recorded_json
from tests.instrumentation.passthrough import Raised, raised_by, without_and_with
from tests.instrumentation.telemetry import metrics_by_name, one_span

MODEL = "mistral-tiny"


def _results():
    plain = transport.client(transport.reply(CHAT)).chat.complete(model=MODEL, messages=MESSAGES)
    events = list(transport.client(transport.sse(CHAT_STREAM)).chat.stream(model=MODEL, messages=MESSAGES))
    return plain.model_dump(), [e.model_dump() for e in events]


def test_the_app_receives_identical_results_with_and_without_instrumentation(tracer_provider, span_exporter):
    without, instrumented = without_and_with(MistralInstrumentor(), _results, tracer_provider=tracer_provider)

    assert instrumented == without
    assert [s.name for s in span_exporter.get_finished_spans()] == [f"chat {MODEL}"] * 2
    _results()
    assert len(span_exporter.get_finished_spans()) == 2  # uninstrumented again: no more spans


def test_the_span_follows_the_genai_conventions(instrumented, span_exporter):
    transport.client(transport.reply(CHAT)).chat.complete(
        model=MODEL, messages=MESSAGES, temperature=0.2, max_tokens=120, top_p=0.9, random_seed=7, stop="END"
    )

    span = one_span(span_exporter)
    attrs = span.attributes
    assert span.name == f"chat {MODEL}"
    assert span.kind.name == "CLIENT"
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.provider.name"] == "mistral_ai"
    assert attrs["gen_ai.request.temperature"] == 0.2
    assert attrs["gen_ai.request.max_tokens"] == 120
    assert attrs["gen_ai.request.top_p"] == 0.9
    assert attrs["gen_ai.request.seed"] == 7
    assert attrs["gen_ai.request.stop_sequences"] == ("END",)
    assert attrs["server.address"] == "api.mistral.ai"
    assert attrs["gen_ai.response.id"] == recorded_json(*CHAT)["id"]
    assert attrs["gen_ai.response.model"] == MODEL
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (11, 96)
    assert "gen_ai.input.messages" not in attrs  # content is off by default
    assert "gen_ai.output.messages" not in attrs


def test_content_is_recorded_only_when_asked(monkeypatch, tracer_provider, span_exporter):
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    instrumentor = MistralInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    try:
        transport.client(transport.reply(CHAT)).chat.complete(model=MODEL, messages=MESSAGES)
    finally:
        instrumentor.uninstrument()

    span = one_span(span_exporter)
    assert json.loads(span.attributes["gen_ai.input.messages"]) == MESSAGES
    assert json.loads(span.attributes["gen_ai.output.messages"])[0]["role"] == "assistant"


def test_metrics_count_tokens_duration_and_dollars(instrumented, metric_reader):
    transport.client(transport.reply(CHAT)).chat.complete(model=MODEL, messages=MESSAGES)

    metrics = metrics_by_name(metric_reader)
    tokens = {p.attributes["gen_ai.token.type"]: p.sum for p in metrics["gen_ai.client.token.usage"].data.data_points}
    assert tokens == {"input": 11, "output": 96}
    assert metrics["gen_ai.client.operation.duration"].data.data_points[0].count == 1
    (cost,) = metrics["llmledger.client.cost"].data.data_points
    assert cost.value == pytest.approx(0.00002675)  # (11 + 96) × $0.25/M


def test_api_errors_reach_the_app_unchanged_and_mark_the_span(tracer_provider, span_exporter):
    def call() -> Raised:
        body = json.dumps({"object": "error", "message": "Requests rate limit exceeded", "type": "rate_limited"})
        headers = {"content-type": "application/json"}
        client = transport.client(lambda request: transport.http.Response(429, headers=headers, content=body.encode()))
        return raised_by(lambda: client.chat.complete(model=MODEL, messages=MESSAGES))

    without, instrumented = without_and_with(MistralInstrumentor(), call, tracer_provider=tracer_provider)

    # The SDK's error holds the HTTP response object, a new one per call: compared by what it shows.
    assert (instrumented.type, [repr(a) for a in instrumented.args]) == (without.type, [repr(a) for a in without.args])
    assert "429" in repr(instrumented.args)
    span = one_span(span_exporter)
    assert span.attributes["error.type"] == instrumented.type.__qualname__
    assert span.status.status_code.name == "ERROR"
    assert "gen_ai.usage.cost" not in span.attributes


def _read_until_the_connection_drops() -> tuple[int, Raised]:
    received: list[object] = []

    def read():
        client = transport.client(transport.failing_stream(CHAT_STREAM, 3))
        for event in client.chat.stream(model=MODEL, messages=MESSAGES):
            received.append(event)

    raised = raised_by(read)
    return len(received), raised


def test_a_connection_lost_mid_stream_reaches_the_app_and_marks_the_span(tracer_provider, span_exporter):
    without, instrumented = without_and_with(
        MistralInstrumentor(), _read_until_the_connection_drops, tracer_provider=tracer_provider
    )

    assert instrumented == without
    received, raised = instrumented
    assert received == 3
    span = one_span(span_exporter)
    assert span.attributes["error.type"] == raised.type.__qualname__
    assert span.attributes["llmledger.usage.complete"] is False


def test_a_stream_read_to_the_end_records_the_usage_of_its_last_chunk(instrumented, span_exporter):
    with transport.client(transport.sse(CHAT_STREAM)).chat.stream(model=MODEL, messages=MESSAGES) as stream:
        events = list(stream)

    attrs = one_span(span_exporter).attributes
    assert len(events) == 81
    assert attrs["gen_ai.request.stream"] is True
    assert attrs["llmledger.usage.complete"] is True
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (11, 80)
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)


def test_a_stream_left_early_in_a_with_block_ends_its_span_incomplete(instrumented, span_exporter):
    with transport.client(transport.sse(CHAT_STREAM)).chat.stream(model=MODEL, messages=MESSAGES) as stream:
        for _ in stream:
            break

    span = one_span(span_exporter)
    assert span.attributes["llmledger.usage.complete"] is False
    assert "gen_ai.usage.cost" not in span.attributes


def test_async_calls_and_streams_are_recorded(instrumented, span_exporter):
    async def run():
        await transport.client(transport.reply(CHAT)).chat.complete_async(model=MODEL, messages=MESSAGES)
        stream = await transport.client(transport.sse(CHAT_STREAM)).chat.stream_async(model=MODEL, messages=MESSAGES)
        return [event async for event in stream]

    assert len(asyncio.run(run())) == 81
    plain, streamed = span_exporter.get_finished_spans()
    assert plain.attributes["gen_ai.usage.output_tokens"] == 96
    assert streamed.attributes["gen_ai.usage.output_tokens"] == 80
    assert streamed.attributes["llmledger.usage.complete"] is True


def test_a_fim_stream_is_recorded_as_a_text_completion(instrumented, span_exporter):
    body = transport.recorded_body(*CHAT_STREAM).replace(b"mistral-tiny", b"codestral-latest")
    client = transport.client(
        lambda request: transport.http.Response(200, headers={"content-type": "text/event-stream"}, content=body)
    )
    list(client.fim.stream(model="codestral-latest", prompt="def fib(n):", suffix="return fib(n - 1)"))

    span = one_span(span_exporter)
    assert span.name == "text_completion codestral-latest"
    assert span.attributes["llmledger.usage.complete"] is True
    assert span.attributes["gen_ai.usage.cost"] == pytest.approx((11 * 0.3 + 80 * 0.9) / 1e6)


def test_structured_output_through_parse_isone_span(instrumented, span_exporter):
    from pydantic import BaseModel

    class Joke(BaseModel):
        setup: str
        punchline: str

    body = recorded_json(*CHAT)
    body["choices"][0]["message"]["content"] = json.dumps({"setup": "Why?", "punchline": "Because."})
    client = transport.client(lambda request: transport.http.Response(200, json=body))
    parsed = client.chat.parse(response_format=Joke, model=MODEL, messages=MESSAGES)

    assert parsed.choices[0].message.parsed.punchline == "Because."
    assert one_span(span_exporter).name == f"chat {MODEL}"


def test_uninstrument_restores_every_original(tracer_provider, span_exporter):
    from mistralai.client.chat import Chat

    original = Chat.__dict__["complete"]
    instrumentor = MistralInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    assert Chat.__dict__["complete"] is not original
    instrumentor.uninstrument()

    assert Chat.__dict__["complete"] is original
    transport.client(transport.reply(CHAT)).chat.complete(model=MODEL, messages=MESSAGES)
    assert span_exporter.get_finished_spans() == ()


def test_importing_the_instrumentor_loads_neither_the_sdk_nor_prices():
    assert loaded_by("llmledger.instrumentation.mistral", "mistralai", "mistralai.client", "genai_prices.data") == []


def test_instrumenting_loads_nothing_until_the_app_imports_the_sdk_which_is_then_patched():
    seen = patched_on_import(
        "llmledger.instrumentation.mistral:MistralInstrumentor",
        "mistralai.client",
        "mistralai.client.chat:Chat.complete",
        ("mistralai", "mistralai.client", "genai_prices", "httpx", "httpx2"),
    )

    assert seen == {"before": [], "wrapped": "FunctionWrapper"}


def test_registered_for_opentelemetry_instrument_under_its_own_name():
    from importlib.metadata import entry_points

    (entry,) = [e for e in entry_points(group="opentelemetry_instrumentor") if e.name == "llmledger_mistral"]
    assert entry.load() is MistralInstrumentor


def test_zero_code_under_opentelemetry_instrument_gives_one_costed_span_per_call(tmp_path):
    spans = zero_code.exported_spans(transport.zero_code_app(), tmp_path)

    assert [s["name"] for s in spans] == [f"chat {MODEL}"] * 2
    costs = [s["attributes"]["gen_ai.usage.cost"] for s in spans]
    assert costs == pytest.approx([(11 + 96) * 0.25 / 1e6, (11 + 80) * 0.25 / 1e6])
    assert {s["attributes"]["gen_ai.provider.name"] for s in spans} == {"mistral_ai"}
    assert {s["attributes"]["llmledger.price.source"] for s in spans} == {"genai-prices"}


def _with_the_sdks_own_tracing(tmp_path, disabled: str) -> list[dict]:
    # mistralai 3 traces itself when MISTRAL_SDK_TELEMETRY asks; 2.x whenever a global tracer provider exists.
    return zero_code.exported_spans(
        transport.zero_code_app(),
        tmp_path,
        MISTRAL_SDK_TELEMETRY="global",
        OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=disabled,
    )


def test_the_sdks_own_span_is_held_off_for_the_calls_llmledger_records(tmp_path):
    alone = _with_the_sdks_own_tracing(tmp_path, f"{zero_code.PEERS},llmledger_mistral")
    assert len(alone) == 2  # the SDK's own tracing is on: a span per call, without a cost
    assert not any("gen_ai.usage.cost" in s["attributes"] for s in alone)

    spans = _with_the_sdks_own_tracing(tmp_path, zero_code.PEERS)

    assert [s["name"] for s in spans] == [f"chat {MODEL}"] * 2  # one span per call, ours, with its cost
    assert all("gen_ai.usage.cost" in s["attributes"] for s in spans)
