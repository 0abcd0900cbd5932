# SPDX-License-Identifier: Apache-2.0
"""The Ollama instrumentor's promises to the app: the same results and errors as without it, calls recorded
however they are written (module functions, positional arguments), one span per call that ends exactly once
however a stream ends, content only when asked, metrics, and zero-code activation."""

from __future__ import annotations

import asyncio
import json

import httpx
import ollama

from llmledger.instrumentation.ollama import OllamaInstrumentor
from tests.instrumentation import zero_code
from tests.instrumentation.imports import loaded_by, patched_on_import
from tests.instrumentation.ollama import transport
from tests.instrumentation.ollama.transport import CHAT, CHAT_STREAM, MESSAGES
from tests.instrumentation.passthrough import Raised, raised_by, without_and_with
from tests.instrumentation.telemetry import metrics_by_name, one_span


def _results():
    plain = transport.client(transport.reply(CHAT)).chat("llama3", MESSAGES)
    chunks = list(transport.client(transport.reply(CHAT_STREAM)).chat("llama3", MESSAGES, stream=True))
    return plain.model_dump(), [c.model_dump() for c in chunks]


def test_the_app_receives_identical_results_with_and_without_instrumentation(tracer_provider, span_exporter):
    without, instrumented = without_and_with(OllamaInstrumentor(), _results, tracer_provider=tracer_provider)

    assert instrumented == without
    assert [s.name for s in span_exporter.get_finished_spans()] == ["chat llama3"] * 2
    _results()
    assert len(span_exporter.get_finished_spans()) == 2  # uninstrumented again: no more spans


def test_the_span_follows_the_genai_conventions(instrumented, span_exporter):
    transport.client(transport.reply(CHAT)).chat(
        model="llama3",
        messages=MESSAGES,
        options={"temperature": 0.2, "num_predict": 100, "top_p": 0.9, "top_k": 40, "seed": 7, "stop": ["END"]},
    )

    span = one_span(span_exporter)
    attrs = span.attributes
    assert span.name == "chat llama3"
    assert span.kind.name == "CLIENT"
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.provider.name"] == "ollama"
    assert attrs["gen_ai.request.temperature"] == 0.2
    assert attrs["gen_ai.request.max_tokens"] == 100
    assert attrs["gen_ai.request.top_p"] == 0.9
    assert attrs["gen_ai.request.top_k"] == 40
    assert attrs["gen_ai.request.seed"] == 7
    assert attrs["gen_ai.request.stop_sequences"] == ("END",)
    assert (attrs["server.address"], attrs["server.port"]) == ("127.0.0.1", 11434)
    assert attrs["gen_ai.response.model"] == "llama3"
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert "gen_ai.input.messages" not in attrs  # content is off by default
    assert "gen_ai.output.messages" not in attrs


def test_options_given_as_an_sdk_object_are_read_alike(instrumented, span_exporter):
    transport.client(transport.reply(CHAT)).chat("llama3", MESSAGES, options=ollama.Options(temperature=0.5))

    assert one_span(span_exporter).attributes["gen_ai.request.temperature"] == 0.5


def test_the_module_functions_are_recorded_with_positional_arguments(instrumented, span_exporter, monkeypatch):
    # `ollama.chat` is the default client's method, bound when `ollama` was imported: served here in-process.
    monkeypatch.setattr(ollama._client, "_client", httpx.Client(base_url=transport.HOST, transport=_mock(CHAT)))

    ollama.chat("llama3", MESSAGES)

    span = one_span(span_exporter)
    assert span.name == "chat llama3"
    assert span.attributes["gen_ai.usage.output_tokens"] == 66


def _mock(recorded):
    return httpx.MockTransport(transport.reply(recorded))


def test_a_call_the_sdk_refuses_reaches_the_app_unchanged(tracer_provider, span_exporter):
    def call() -> Raised:  # `model` given twice: the SDK's own TypeError, as without llmledger
        return raised_by(lambda: transport.client(transport.reply(CHAT)).chat("llama3", MESSAGES, model="llama3"))

    without, instrumented = without_and_with(OllamaInstrumentor(), call, tracer_provider=tracer_provider)

    assert instrumented == without
    assert instrumented.type is TypeError


def test_content_is_recorded_only_when_asked(monkeypatch, tracer_provider, span_exporter):
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    instrumentor = OllamaInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    try:
        transport.client(transport.reply(CHAT)).chat("llama3", MESSAGES)
    finally:
        instrumentor.uninstrument()

    span = one_span(span_exporter)
    assert json.loads(span.attributes["gen_ai.input.messages"]) == MESSAGES
    assert json.loads(span.attributes["gen_ai.output.messages"])[0]["role"] == "assistant"


def test_metrics_count_tokens_and_duration_but_no_dollars(instrumented, metric_reader):
    transport.client(transport.reply(CHAT)).chat("llama3", MESSAGES)

    metrics = metrics_by_name(metric_reader)
    tokens = {p.attributes["gen_ai.token.type"]: p.sum for p in metrics["gen_ai.client.token.usage"].data.data_points}
    assert tokens == {"input": 17, "output": 66}
    assert metrics["gen_ai.client.operation.duration"].data.data_points[0].count == 1
    assert "llmledger.client.cost" not in metrics  # unpriced: no dollars counted, not even zero


def test_errors_reach_the_app_unchanged_and_mark_the_span(tracer_provider, span_exporter):
    def call() -> Raised:
        body = json.dumps({"error": "model 'llama9' not found"}).encode()
        client = transport.client(lambda request: httpx.Response(404, content=body))
        return raised_by(lambda: client.chat("llama9", MESSAGES))

    without, instrumented = without_and_with(OllamaInstrumentor(), call, tracer_provider=tracer_provider)

    assert instrumented == without
    assert instrumented.type is ollama.ResponseError
    span = one_span(span_exporter)
    assert span.attributes["error.type"] == "ResponseError"
    assert span.status.status_code.name == "ERROR"


def test_a_server_that_is_not_running_is_reported_as_without_llmledger(tracer_provider, span_exporter):
    def refuse(request):
        raise httpx.ConnectError("connection refused", request=request)

    def call() -> Raised:
        return raised_by(lambda: transport.client(refuse).generate("llama3", "hi"))

    without, instrumented = without_and_with(OllamaInstrumentor(), call, tracer_provider=tracer_provider)

    assert instrumented == without
    assert one_span(span_exporter).attributes["error.type"] == instrumented.type.__qualname__


def _read_until_the_connection_drops() -> tuple[int, Raised]:
    received: list[object] = []

    def read():
        for chunk in transport.client(transport.failing_stream(CHAT_STREAM, 3)).chat("llama3", MESSAGES, stream=True):
            received.append(chunk)

    raised = raised_by(read)
    return len(received), raised


def test_a_connection_lost_mid_stream_reaches_the_app_and_marks_the_span(tracer_provider, span_exporter):
    without, instrumented = without_and_with(
        OllamaInstrumentor(), _read_until_the_connection_drops, tracer_provider=tracer_provider
    )

    assert instrumented == without
    received, raised = instrumented
    assert received == 3
    span = one_span(span_exporter)
    assert span.attributes["error.type"] == raised.type.__qualname__
    assert span.attributes["llmledger.usage.complete"] is False


def test_a_stream_read_to_the_end_records_the_last_chunks_counts(instrumented, span_exporter):
    chunks = list(transport.client(transport.reply(CHAT_STREAM)).chat("llama3", MESSAGES, stream=True))

    attrs = one_span(span_exporter).attributes
    assert len(chunks) == 50
    assert attrs["gen_ai.request.stream"] is True
    assert attrs["llmledger.usage.complete"] is True
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (17, 50)
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)


def test_a_stream_left_early_ends_its_span_incomplete(instrumented, span_exporter):
    stream = transport.client(transport.reply(CHAT_STREAM)).chat("llama3", MESSAGES, stream=True)
    next(stream)
    del stream

    span = one_span(span_exporter)
    assert span.attributes["llmledger.usage.complete"] is False
    assert "gen_ai.usage.output_tokens" not in span.attributes


def test_async_calls_and_streams_with_positional_arguments(instrumented, span_exporter):
    async def run():
        await transport.async_client(transport.reply(CHAT)).chat("llama3", MESSAGES)
        stream = await transport.async_client(transport.reply(CHAT_STREAM)).chat("llama3", MESSAGES, stream=True)
        return [chunk async for chunk in stream]

    assert len(asyncio.run(run())) == 50
    plain, streamed = span_exporter.get_finished_spans()
    assert plain.name == streamed.name == "chat llama3"
    assert plain.attributes["gen_ai.usage.output_tokens"] == 66
    assert streamed.attributes["gen_ai.usage.output_tokens"] == 50
    assert streamed.attributes["llmledger.usage.complete"] is True


def test_embed_counts_its_input(instrumented, span_exporter):
    body = {"model": "all-minilm", "embeddings": [[0.1, 0.2, 0.3]], "prompt_eval_count": 8}
    transport.client(lambda request: httpx.Response(200, json=body)).embed("all-minilm", "Hello")

    span = one_span(span_exporter)
    assert span.name == "embeddings all-minilm"
    assert span.attributes["gen_ai.usage.input_tokens"] == 8
    assert span.attributes["gen_ai.embeddings.dimension.count"] == 3
    assert span.attributes["llmledger.cost.unpriced"] is True


def test_uninstrument_restores_every_original_and_the_module_functions(tracer_provider, span_exporter, monkeypatch):
    from ollama._client import Client

    monkeypatch.setattr(ollama._client, "_client", httpx.Client(base_url=transport.HOST, transport=_mock(CHAT)))
    original = Client.__dict__["chat"]
    instrumentor = OllamaInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    assert Client.__dict__["chat"] is not original
    ollama.chat("llama3", MESSAGES)
    assert len(span_exporter.get_finished_spans()) == 1
    instrumentor.uninstrument()

    assert Client.__dict__["chat"] is original
    transport.client(transport.reply(CHAT)).chat("llama3", MESSAGES)
    ollama.chat("llama3", MESSAGES)
    assert len(span_exporter.get_finished_spans()) == 1  # neither the client nor the module function records now


def test_a_module_function_the_app_replaced_is_left_alone(tracer_provider, monkeypatch):
    def mine(*args, **kwargs):
        return "the app's own"

    monkeypatch.setattr(ollama, "chat", mine)
    instrumentor = OllamaInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    try:
        assert ollama.chat is mine
    finally:
        instrumentor.uninstrument()
    assert ollama.chat is mine


def test_importing_the_instrumentor_loads_neither_the_sdk_nor_prices():
    assert loaded_by("llmledger.instrumentation.ollama", "ollama", "genai_prices.data") == []


def test_instrumenting_loads_nothing_until_the_app_imports_the_sdk_which_is_then_patched():
    seen = patched_on_import(
        "llmledger.instrumentation.ollama:OllamaInstrumentor",
        "ollama",
        "ollama._client:Client.chat",
        ("ollama", "genai_prices", "httpx"),
    )

    assert seen == {"before": [], "wrapped": "FunctionWrapper"}


def test_registered_for_opentelemetry_instrument_under_its_own_name():
    from importlib.metadata import entry_points

    (entry,) = [e for e in entry_points(group="opentelemetry_instrumentor") if e.name == "llmledger_ollama"]
    assert entry.load() is OllamaInstrumentor


def test_zero_code_under_opentelemetry_instrument_gives_one_span_per_call_unpriced(tmp_path):
    spans = zero_code.exported_spans(transport.zero_code_app(), tmp_path)

    assert [s["name"] for s in spans] == ["chat llama3"] * 2
    assert [s["attributes"]["gen_ai.usage.output_tokens"] for s in spans] == [66, 50]
    assert {s["attributes"]["llmledger.cost.unpriced"] for s in spans} == {True}
    assert not any("gen_ai.usage.cost" in s["attributes"] for s in spans)
