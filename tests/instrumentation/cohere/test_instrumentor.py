# SPDX-License-Identifier: Apache-2.0
"""The Cohere instrumentor's promises to the app: the same results and errors as without it, one span per call
that ends exactly once however a stream ends, content only when asked, metrics, and zero-code activation."""

from __future__ import annotations

import asyncio
import json

import cohere
import httpx
import pytest

from llmledger.instrumentation.cohere import CohereInstrumentor
from tests.instrumentation import zero_code
from tests.instrumentation.cohere import transport
from tests.instrumentation.cohere.transport import CHAT, CHAT_STREAM, CHAT_V2, CHAT_V2_STREAM, EMBED_V2, MESSAGES
from tests.instrumentation.imports import loaded_by, patched_on_import
from tests.instrumentation.openai.transport import recorded_json
from tests.instrumentation.passthrough import Raised, raised_by, without_and_with
from tests.instrumentation.telemetry import metrics_by_name, one_span

QUESTION = "Tell me a joke, pirate style"


def _results():
    v1 = transport.client(transport.reply(CHAT)).chat(model="command", message=QUESTION)
    v2 = transport.client(transport.reply(CHAT_V2), v2=True).chat(model="command", messages=MESSAGES)
    v1_events = list(
        transport.client(transport.reply(CHAT_STREAM, "application/stream+json")).chat_stream(
            model="command", message=QUESTION
        )
    )
    v2_events = list(
        transport.client(transport.reply(CHAT_V2_STREAM, "text/event-stream"), v2=True).chat_stream(
            model="command", messages=MESSAGES
        )
    )
    return [v1.dict(), v2.dict(), [e.dict() for e in v1_events], [e.dict() for e in v2_events]]


def test_the_app_receives_identical_results_with_and_without_instrumentation(tracer_provider, span_exporter):
    without, instrumented = without_and_with(CohereInstrumentor(), _results, tracer_provider=tracer_provider)

    assert instrumented == without
    assert [s.name for s in span_exporter.get_finished_spans()] == ["chat command"] * 4
    _results()
    assert len(span_exporter.get_finished_spans()) == 4  # uninstrumented again: no more spans


def test_the_span_follows_the_genai_conventions(instrumented, span_exporter):
    transport.client(transport.reply(CHAT_V2), v2=True).chat(
        model="command", messages=MESSAGES, temperature=0.3, max_tokens=200, p=0.9, k=40, seed=7, stop_sequences=["END"]
    )

    span = one_span(span_exporter)
    attrs = span.attributes
    assert span.name == "chat command"
    assert span.kind.name == "CLIENT"
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.provider.name"] == "cohere"
    assert attrs["gen_ai.request.temperature"] == 0.3
    assert attrs["gen_ai.request.max_tokens"] == 200
    assert attrs["gen_ai.request.top_p"] == 0.9
    assert attrs["gen_ai.request.top_k"] == 40
    assert attrs["gen_ai.request.seed"] == 7
    assert attrs["gen_ai.request.stop_sequences"] == ("END",)
    assert attrs["server.address"] == "api.cohere.com"
    assert attrs["gen_ai.response.id"] == recorded_json(*CHAT_V2)["id"]
    assert attrs["gen_ai.response.finish_reasons"] == ("complete",)
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (7, 88)
    assert "gen_ai.input.messages" not in attrs  # content is off by default
    assert "gen_ai.output.messages" not in attrs


def test_content_is_recorded_only_when_asked(monkeypatch, tracer_provider, span_exporter):
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    instrumentor = CohereInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    try:
        transport.client(transport.reply(CHAT_V2), v2=True).chat(model="command", messages=MESSAGES)
        transport.client(transport.reply(CHAT)).chat(model="command", message=QUESTION, preamble="Be brief")
    finally:
        instrumentor.uninstrument()

    v2, v1 = span_exporter.get_finished_spans()
    assert json.loads(v2.attributes["gen_ai.input.messages"]) == MESSAGES
    assert "pirate" in v2.attributes["gen_ai.output.messages"].lower()
    assert json.loads(v1.attributes["gen_ai.input.messages"]) == [
        {"role": "SYSTEM", "message": "Be brief"},
        {"role": "USER", "message": QUESTION},
    ]


def test_metrics_count_billed_tokens_duration_and_dollars(instrumented, metric_reader):
    transport.client(transport.reply(CHAT)).chat(model="command", message=QUESTION)

    metrics = metrics_by_name(metric_reader)
    tokens = {p.attributes["gen_ai.token.type"]: p.sum for p in metrics["gen_ai.client.token.usage"].data.data_points}
    assert tokens == {"input": 58, "output": 119}
    assert metrics["gen_ai.client.operation.duration"].data.data_points[0].count == 1
    (cost,) = metrics["llmledger.client.cost"].data.data_points
    assert cost.value == pytest.approx(0.000296)  # 58 × $1/M + 119 × $2/M


def _rate_limited():
    body = json.dumps({"message": "You are using a Trial key, which is limited to 10 API calls / minute."})
    return transport.client(lambda request: httpx.Response(429, content=body.encode()))


def test_api_errors_reach_the_app_unchanged_and_mark_the_span(tracer_provider, span_exporter):
    def call() -> Raised:
        return raised_by(lambda: _rate_limited().chat(model="command", message=QUESTION))

    without, instrumented = without_and_with(CohereInstrumentor(), call, tracer_provider=tracer_provider)

    assert instrumented == without
    assert issubclass(instrumented.type, cohere.core.ApiError)
    span = one_span(span_exporter)
    assert span.attributes["error.type"] == instrumented.type.__qualname__
    assert span.status.status_code.name == "ERROR"
    assert "gen_ai.usage.cost" not in span.attributes


def _read_until_the_connection_drops() -> tuple[int, Raised]:
    """What the app sees reading a stream whose connection drops after three events: events, then the error."""
    handler = transport.failing_stream(CHAT_STREAM, 3, "application/stream+json")  # one event per line
    received: list[object] = []

    def read():
        for event in transport.client(handler).chat_stream(model="command", message=QUESTION):
            received.append(event)

    raised = raised_by(read)
    return len(received), raised


def test_a_connection_lost_mid_stream_reaches_the_app_and_marks_the_span(tracer_provider, span_exporter):
    without, instrumented = without_and_with(
        CohereInstrumentor(), _read_until_the_connection_drops, tracer_provider=tracer_provider
    )

    assert instrumented == without  # as many events, then the same exception, as without llmledger
    received, raised = instrumented
    assert received > 0
    span = one_span(span_exporter)
    assert span.attributes["error.type"] == raised.type.__qualname__
    assert span.status.status_code.name == "ERROR"
    assert span.attributes["llmledger.usage.complete"] is False


@pytest.mark.parametrize("v2", [False, True], ids=["v1", "v2"])
def test_a_stream_read_to_the_end_records_its_billed_usage(v2, instrumented, span_exporter):
    if v2:
        stream = transport.client(transport.reply(CHAT_V2_STREAM, "text/event-stream"), v2=True).chat_stream(
            model="command", messages=MESSAGES
        )
    else:
        stream = transport.client(transport.reply(CHAT_STREAM, "application/stream+json")).chat_stream(
            model="command", message=QUESTION
        )
    assert len(list(stream)) > 2

    attrs = one_span(span_exporter).attributes
    assert attrs["llmledger.usage.complete"] is True
    assert attrs["gen_ai.request.stream"] is True
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == ((7, 109) if v2 else (7, 115))
    assert attrs["gen_ai.response.finish_reasons"] == ("complete",)
    assert isinstance(attrs["gen_ai.response.id"], str)


def test_a_stream_left_early_ends_its_span_incomplete(instrumented, span_exporter):
    stream = transport.client(transport.reply(CHAT_V2_STREAM, "text/event-stream"), v2=True).chat_stream(
        model="command", messages=MESSAGES
    )
    for _ in stream:
        break
    del stream  # not closed: some 5.x releases' stream generators raise on close() (as without llmledger)

    span = one_span(span_exporter)
    assert span.attributes["llmledger.usage.complete"] is False
    assert "gen_ai.usage.cost" not in span.attributes


@pytest.mark.parametrize("v2", [False, True], ids=["v1", "v2"])
def test_async_calls_and_streams_are_recorded(v2, instrumented, span_exporter):
    async def run():
        if v2:
            client = transport.async_client(transport.reply(CHAT_V2), v2=True)
            streaming = transport.async_client(transport.reply(CHAT_V2_STREAM, "text/event-stream"), v2=True)
            await client.chat(model="command", messages=MESSAGES)
            return [e async for e in streaming.chat_stream(model="command", messages=MESSAGES)]
        client = transport.async_client(transport.reply(CHAT))
        streaming = transport.async_client(transport.reply(CHAT_STREAM, "application/stream+json"))
        await client.chat(model="command", message=QUESTION)
        return [e async for e in streaming.chat_stream(model="command", message=QUESTION)]

    assert asyncio.run(run())
    plain, streamed = span_exporter.get_finished_spans()
    assert plain.attributes["gen_ai.usage.output_tokens"] == (88 if v2 else 119)
    assert streamed.attributes["llmledger.usage.complete"] is True
    assert streamed.attributes["gen_ai.usage.output_tokens"] == (109 if v2 else 115)


def test_a_v1_embed_of_many_texts_is_one_span_with_the_batches_usage_summed(instrumented, span_exporter):
    # The SDK sends 96 texts per request from its thread pool and merges the responses (usage summed).
    body = recorded_json(*EMBED_V2)
    body.pop("response_type", None)
    body["embeddings"] = {"float": [[0.5]] * 96}
    requests: list[int] = []

    def serve(request: httpx.Request) -> httpx.Response:
        texts = json.loads(request.content)["texts"]
        requests.append(len(texts))
        reply = {**body, "embeddings": {"float": [[0.5]] * len(texts)}, "texts": texts}
        reply["meta"] = {"billed_units": {"input_tokens": 10 * len(texts)}}
        return httpx.Response(200, json={**reply, "response_type": "embeddings_by_type"})

    result = transport.client(serve).embed(
        model="embed-v4.0", texts=["a"] * 100, input_type="search_document", embedding_types=["float"]
    )

    assert sum(requests) == 100  # in batches of 96 where the SDK batches (5.x releases after the first few)
    assert len(result.embeddings.float_) == 100
    span = one_span(span_exporter)
    assert span.name == "embeddings embed-v4.0"
    assert span.attributes["gen_ai.usage.input_tokens"] == 1000
    assert span.attributes["gen_ai.usage.cost"] == pytest.approx(0.00012)  # 1,000 × $0.12/M


def test_uninstrument_restores_every_original(tracer_provider, span_exporter):
    from cohere.base_client import BaseCohere

    original = BaseCohere.__dict__["chat"]
    instrumentor = CohereInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    assert BaseCohere.__dict__["chat"] is not original
    instrumentor.uninstrument()

    assert BaseCohere.__dict__["chat"] is original
    transport.client(transport.reply(CHAT)).chat(model="command", message=QUESTION)
    assert span_exporter.get_finished_spans() == ()


def test_importing_the_instrumentor_loads_neither_the_sdk_nor_prices():
    assert loaded_by("llmledger.instrumentation.cohere", "cohere", "genai_prices.data") == []


def test_instrumenting_loads_nothing_until_the_app_imports_the_sdk_which_is_then_patched():
    seen = patched_on_import(
        "llmledger.instrumentation.cohere:CohereInstrumentor",
        "cohere",
        "cohere.base_client:BaseCohere.chat",
        ("cohere", "genai_prices", "httpx", "tokenizers"),
    )

    assert seen == {"before": [], "wrapped": "FunctionWrapper"}


def test_registered_for_opentelemetry_instrument_under_its_own_name():
    from importlib.metadata import entry_points

    (entry,) = [e for e in entry_points(group="opentelemetry_instrumentor") if e.name == "llmledger_cohere"]
    assert entry.load() is CohereInstrumentor


def test_zero_code_under_opentelemetry_instrument_gives_one_costed_span_per_call(tmp_path):
    """`opentelemetry-instrument python app.py` with no code change, peer instrumentors (if installed) disabled by
    name: a chat and a stream, one span each, priced by billed units (command at $1 / $2 per million)."""
    spans = zero_code.exported_spans(transport.zero_code_app(), tmp_path)

    assert [s["name"] for s in spans] == ["chat command"] * 2
    costs = [s["attributes"]["gen_ai.usage.cost"] for s in spans]
    assert costs == pytest.approx([(58 * 1 + 119 * 2) / 1e6, (7 * 1 + 115 * 2) / 1e6])
    assert {s["attributes"]["llmledger.price.source"] for s in spans} == {"genai-prices"}
