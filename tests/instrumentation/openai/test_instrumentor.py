# SPDX-License-Identifier: Apache-2.0
"""The instrumentor's promises to the app: it sees the same results and errors, and nothing of ours can break it."""

from __future__ import annotations

import asyncio
import json
import textwrap

import openai
import pytest

from llmledger._core import prices as _prices
from llmledger.instrumentation.openai import OpenAIInstrumentor
from tests.instrumentation import zero_code
from tests.instrumentation.features import needs
from tests.instrumentation.openai import transport
from tests.instrumentation.openai.transport import CHAT, CHAT_STREAM, recorded_body, recorded_json, sse
from tests.instrumentation.telemetry import metrics_by_name

MESSAGES = [{"role": "user", "content": "Say this is a test"}]


def _chat_client(body: dict | None = None) -> openai.OpenAI:
    payload = json.dumps(body or recorded_json(*CHAT)).encode()
    return transport.client(
        lambda request: transport.http.Response(200, headers={"content-type": "application/json"}, content=payload)
    )


def _results():
    plain = _chat_client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    chunks = list(
        transport.client(lambda r: sse(recorded_body(*CHAT_STREAM))).chat.completions.create(
            model="gpt-4", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
    )
    return plain, chunks


def test_the_app_receives_identical_results_with_and_without_instrumentation(tracer_provider, span_exporter):
    plain_before, chunks_before = _results()
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    try:
        plain_after, chunks_after = _results()
        stream = transport.client(lambda r: sse(recorded_body(*CHAT_STREAM))).chat.completions.create(
            model="gpt-4", messages=MESSAGES, stream=True
        )
        assert isinstance(stream, openai.Stream)
        assert stream.response.status_code == 200
        stream.close()
    finally:
        instrumentor.uninstrument()

    assert type(plain_after) is type(plain_before)
    assert plain_after.model_dump() == plain_before.model_dump()
    assert [type(c) for c in chunks_after] == [type(c) for c in chunks_before]
    assert [c.model_dump() for c in chunks_after] == [c.model_dump() for c in chunks_before]
    assert len(span_exporter.get_finished_spans()) == 3


def test_uninstrument_restores_every_original(tracer_provider, span_exporter):
    from openai.resources.chat.completions import completions

    original = completions.Completions.create
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    assert completions.Completions.create is not original
    instrumentor.uninstrument()

    assert completions.Completions.create is original
    _chat_client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert span_exporter.get_finished_spans() == ()


def test_the_span_follows_the_genai_conventions(instrumented, span_exporter):
    _chat_client().chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, temperature=0.2, max_tokens=50, top_p=0.9, seed=7, stop=["END"]
    )

    (span,) = span_exporter.get_finished_spans()
    attrs = span.attributes
    assert span.name == "chat gpt-4o-mini"
    assert span.kind.name == "CLIENT"
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.provider.name"] == "openai"
    assert attrs["gen_ai.request.model"] == "gpt-4o-mini"
    assert attrs["gen_ai.request.temperature"] == 0.2
    assert attrs["gen_ai.request.max_tokens"] == 50
    assert attrs["gen_ai.request.top_p"] == 0.9
    assert attrs["gen_ai.request.seed"] == 7
    assert attrs["gen_ai.request.stop_sequences"] == ("END",)
    assert attrs["server.address"] == "api.openai.com"
    assert isinstance(attrs["gen_ai.response.id"], str)
    assert attrs["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18"
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert isinstance(attrs["gen_ai.usage.input_tokens"], int)
    assert isinstance(attrs["gen_ai.usage.cost"], float)
    assert "gen_ai.input.messages" not in attrs  # content is off by default


def test_content_is_captured_only_when_asked(monkeypatch, tracer_provider, span_exporter):
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    try:
        _chat_client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    finally:
        instrumentor.uninstrument()

    (span,) = span_exporter.get_finished_spans()
    assert json.loads(span.attributes["gen_ai.input.messages"]) == MESSAGES
    assert "This is a test" in span.attributes["gen_ai.output.messages"]


def test_metrics_count_tokens_duration_and_dollars(instrumented, metric_reader):
    _chat_client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    metrics = metrics_by_name(metric_reader)
    tokens = {p.attributes["gen_ai.token.type"]: p.sum for p in metrics["gen_ai.client.token.usage"].data.data_points}
    usage = recorded_json(*CHAT)["usage"]
    assert tokens == {"input": usage["prompt_tokens"], "output": usage["completion_tokens"]}
    assert metrics["gen_ai.client.operation.duration"].data.data_points[0].count == 1
    (cost,) = metrics["llmledger.client.cost"].data.data_points
    assert cost.value == pytest.approx((usage["prompt_tokens"] * 0.15 + usage["completion_tokens"] * 0.6) / 1e6)


def test_metric_exemplars_point_at_the_calls_own_span_inside_an_app_span(
    instrumented, metric_reader, tracer_provider, span_exporter
):
    with tracer_provider.get_tracer("app").start_as_current_span("handle request"):
        _chat_client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    call = next(span for span in span_exporter.get_finished_spans() if span.name == "chat gpt-4o-mini")
    histograms = [
        m
        for rm in metric_reader.get_metrics_data().resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
        if m.name in ("gen_ai.client.operation.duration", "gen_ai.client.token.usage")
    ]
    exemplars = [e for m in histograms for p in m.data.data_points for e in p.exemplars]
    assert len(exemplars) == 3  # the duration, and input and output tokens
    assert {(e.trace_id, e.span_id) for e in exemplars} == {(call.context.trace_id, call.context.span_id)}


def test_api_errors_reach_the_app_unchanged(instrumented, span_exporter):
    error_body = json.dumps({"error": {"message": "Rate limit reached", "type": "requests"}}).encode()
    client = transport.client(lambda request: transport.http.Response(429, content=error_body))
    with pytest.raises(openai.RateLimitError) as raised:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    assert raised.value.status_code == 429
    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["error.type"] == "RateLimitError"
    assert span.status.status_code.name == "ERROR"
    assert "gen_ai.usage.cost" not in span.attributes


def test_timeouts_reach_the_app_unchanged(instrumented, span_exporter):
    def timeout(request):
        raise transport.http.ReadTimeout("timed out", request=request)

    with pytest.raises(openai.APITimeoutError):
        transport.client(timeout).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["error.type"] == "APITimeoutError"


def _ended_without_an_outcome(span) -> None:
    """A cancelled or interrupted call: ended, not failed (as OpenTelemetry's `use_span` treats a BaseException
    that is not an Exception), its usage unknown, so neither priced nor charged."""
    assert span.status.status_code.name == "UNSET"
    assert "error.type" not in span.attributes
    assert span.attributes["llmledger.usage.complete"] is False
    assert "gen_ai.usage.cost" not in span.attributes


def test_a_cancelled_call_reaches_the_app_and_ends_its_span_without_an_error(instrumented, span_exporter):
    async def run() -> None:
        sent = asyncio.Event()

        async def never_answers(request):
            sent.set()
            await asyncio.Event().wait()

        call = asyncio.ensure_future(
            transport.async_client(never_answers).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        )
        await sent.wait()
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call

    asyncio.run(run())
    (span,) = span_exporter.get_finished_spans()
    _ended_without_an_outcome(span)


def test_an_interrupt_reaches_the_app_and_ends_the_span_without_an_error(instrumented, span_exporter):
    def interrupted(request):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        transport.client(interrupted).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    (span,) = span_exporter.get_finished_spans()
    _ended_without_an_outcome(span)


def test_async_calls_are_recorded(instrumented, span_exporter):
    payload = json.dumps(recorded_json(*CHAT)).encode()

    async def run():
        client = transport.async_client(lambda r: transport.http.Response(200, content=payload))
        return await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    result = asyncio.run(run())
    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["gen_ai.usage.output_tokens"] == result.usage.completion_tokens


def test_a_response_without_usage_still_yields_a_span(instrumented, span_exporter):
    body = recorded_json(*CHAT)
    body["usage"] = None
    result = _chat_client(body).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    assert result.usage is None
    (span,) = span_exporter.get_finished_spans()
    assert "gen_ai.usage.input_tokens" not in span.attributes
    assert "gen_ai.usage.cost" not in span.attributes
    assert span.status.is_ok


def test_a_response_of_unexpected_shape_still_yields_a_span(instrumented, span_exporter):
    body = recorded_json(*CHAT)
    body["usage"] = {"prompt_tokens": "many", "completion_tokens": -3, "prompt_tokens_details": "odd"}
    body["choices"] = "not a list"
    _chat_client(body).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["gen_ai.request.model"] == "gpt-4o-mini"
    assert "gen_ai.usage.input_tokens" not in span.attributes


def test_a_bug_of_ours_while_finishing_is_logged_not_raised(instrumented, span_exporter, monkeypatch, caplog):
    from llmledger.instrumentation._shared import invocation

    def broken(*args, **kwargs):
        raise RuntimeError("instrumentation bug")

    monkeypatch.setattr(invocation, "price_of", broken)
    caplog.set_level("DEBUG", logger="llmledger")
    result = _chat_client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    assert result.choices[0].message.content
    (span,) = span_exporter.get_finished_spans()
    assert span.status.is_unset  # our failure never marks the user's call as failed
    assert "failed to record" in caplog.text


def test_a_bug_of_ours_while_starting_lets_the_call_through(instrumented, span_exporter, monkeypatch):
    from llmledger.instrumentation.openai import _targets

    def broken(self, resource):
        raise RuntimeError("instrumentation bug")

    monkeypatch.setattr(_targets.Locator, "__call__", broken)
    result = _chat_client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    assert result.choices[0].message.content
    assert span_exporter.get_finished_spans() == ()


def test_a_provider_reported_cost_is_passed_through(instrumented, span_exporter):
    body = recorded_json(*CHAT)
    body["usage"]["cost"] = 0.000123
    client = transport.client(
        lambda request: transport.http.Response(200, content=json.dumps(body).encode()), "https://openrouter.ai/api/v1"
    )
    client.chat.completions.create(model="openai/gpt-4o-mini", messages=MESSAGES)

    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["gen_ai.provider.name"] == "openrouter"
    assert span.attributes["gen_ai.usage.cost"] == 0.000123
    assert span.attributes["gen_ai.usage.cost.source"] == "provider"


def test_an_unknown_model_at_openai_is_unpriced(instrumented, span_exporter):
    body = recorded_json(*CHAT)
    body["model"] = "gpt-99-experimental"
    _chat_client(body).chat.completions.create(model="gpt-99-experimental", messages=MESSAGES)

    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["llmledger.cost.unpriced"] is True
    assert "gen_ai.usage.cost" not in span.attributes


def test_with_raw_response_is_recorded_when_parsed(instrumented, span_exporter):
    raw = _chat_client().chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES)

    assert raw.headers is not None
    completion = raw.parse()
    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["gen_ai.usage.output_tokens"] == completion.usage.completion_tokens


def test_with_streaming_response_is_recorded(instrumented, span_exporter):
    client = _chat_client()
    with client.chat.completions.with_streaming_response.create(model="gpt-4o-mini", messages=MESSAGES) as response:
        completion = response.parse()

    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["gen_ai.usage.output_tokens"] == completion.usage.completion_tokens


def test_with_streaming_response_of_a_stream(instrumented, span_exporter):
    client = transport.client(lambda r: sse(recorded_body(*CHAT_STREAM)))
    with client.chat.completions.with_streaming_response.create(
        model="gpt-4", messages=MESSAGES, stream=True
    ) as response:
        chunks = list(response.parse())

    (span,) = span_exporter.get_finished_spans()
    assert len(chunks) > 2
    assert span.attributes["gen_ai.usage.output_tokens"] == 5


def test_the_price_override_file_wins(monkeypatch, instrumented, span_exporter, tmp_path):
    prices = tmp_path / "prices.yaml"
    prices.write_text(
        textwrap.dedent("""
        prices:
          - provider: openai
            model: "gpt-4o-mini*"
            valid_from: 2024-01-01
            input: 1.00
            output: 2.00
    """)
    )
    monkeypatch.setenv("LLMLEDGER_PRICES_FILE", str(prices))
    _prices.reload()
    result = _chat_client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    (span,) = span_exporter.get_finished_spans()
    usage = result.usage
    assert span.attributes["gen_ai.usage.cost"] == pytest.approx(
        (usage.prompt_tokens * 1 + usage.completion_tokens * 2) / 1e6
    )
    assert span.attributes["llmledger.price.source"] == "override"


def test_zero_code_under_opentelemetry_instrument(tmp_path):
    """`opentelemetry-instrument python app.py` with no code change: the span appears, with its cost."""
    spans = zero_code.exported_spans(
        transport.zero_code_client(*CHAT)
        + """
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
        """,
        tmp_path,
    )

    (span,) = spans
    assert span["name"] == "chat gpt-4o-mini"
    assert span["attributes"]["llmledger.price.source"] == "genai-prices"  # ours, not another instrumentor's
    assert span["attributes"]["gen_ai.usage.cost"] > 0
    assert span["attributes"]["gen_ai.provider.name"] == "openai"


def test_under_opentelemetry_instrument_the_metrics_of_every_call_are_exported_when_the_app_exits(tmp_path):
    """Three calls, fewer than a batch of metric records: the SDK's last collection at exit still holds them."""
    (exported,) = zero_code.exported_spans(
        transport.zero_code_client(*CHAT)
        + """
        for _ in range(3):
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
        """,
        tmp_path,
        OTEL_TRACES_EXPORTER="none",
        OTEL_METRICS_EXPORTER="console",
    )
    metrics = {
        metric["name"]: metric["data"]["data_points"]
        for resource in exported["resource_metrics"]
        for scope in resource["scope_metrics"]
        if scope["scope"]["name"] == "llmledger.instrumentation.openai"
        for metric in scope["metrics"]
    }
    usage = recorded_json(*CHAT)["usage"]
    tokens = {point["attributes"]["gen_ai.token.type"]: point["sum"] for point in metrics["gen_ai.client.token.usage"]}
    assert tokens == {"input": 3 * usage["prompt_tokens"], "output": 3 * usage["completion_tokens"]}
    assert [point["count"] for point in metrics["gen_ai.client.operation.duration"]] == [3]
    (cost,) = metrics["llmledger.client.cost"]
    assert cost["value"] == pytest.approx(3 * (usage["prompt_tokens"] * 0.15 + usage["completion_tokens"] * 0.6) / 1e6)


def test_registered_for_opentelemetry_instrument_under_its_own_name():
    from importlib.metadata import entry_points

    (entry,) = [e for e in entry_points(group="opentelemetry_instrumentor") if e.name == "llmledger_openai"]
    assert entry.load() is OpenAIInstrumentor
    assert OpenAIInstrumentor().instrumentation_dependencies() == ("openai >= 1.63.0, < 4",)  # docs/compatibility.md


def test_parse_records_one_span(instrumented, span_exporter):
    from pydantic import BaseModel

    class Answer(BaseModel):
        text: str

    body = recorded_json(*CHAT)
    body["choices"][0]["message"]["content"] = json.dumps({"text": "This is a test."})
    completions = _chat_client(body).chat.completions
    needs(completions, "parse")
    parsed = completions.parse(model="gpt-4o-mini", messages=MESSAGES, response_format=Answer)

    assert parsed.choices[0].message.parsed == Answer(text="This is a test.")
    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["gen_ai.output.type"] == "json"
    assert span.attributes["gen_ai.usage.output_tokens"] == body["usage"]["completion_tokens"]


def test_async_with_raw_response(instrumented, span_exporter):
    payload = json.dumps(recorded_json(*CHAT)).encode()

    async def run():
        client = transport.async_client(lambda r: transport.http.Response(200, content=payload))
        raw = await client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES)
        return raw.parse()

    completion = asyncio.run(run())
    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["gen_ai.usage.input_tokens"] == completion.usage.prompt_tokens


def test_embeddings_record_their_dimension(instrumented, span_exporter, tmp_path):
    from tests.cassette_replay import interactions
    from tests.instrumentation.openai.sdk_calls import call, only_interaction

    file = "openai/openllmetry/openai/traces/test_embeddings/test_embeddings.yaml"
    with only_interaction(file, 0, tmp_path) as row:
        result = call(row, interactions(file)[0])

    (span,) = span_exporter.get_finished_spans()
    assert span.name == "embeddings text-embedding-ada-002"
    assert isinstance(result.data[0].embedding, str)  # the recording asked for base64
    assert span.attributes["gen_ai.embeddings.dimension.count"] == 1536  # text-embedding-ada-002's width
