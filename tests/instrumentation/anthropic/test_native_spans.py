# SPDX-License-Identifier: Apache-2.0
"""Exactly one span per call, carrying its cost, and the Anthropic SDK's own tracing left as it is without llmledger.

The SDK (2.x) makes its own `anthropic.messages.create` span whenever it has a tracer: from the provider the app
gives it (`open_telemetry={"tracer_provider": …}`), else the global one. That span is the call's span: llmledger
records its usage and cost on it, and the SDK keeps its parent, its provider and the trace context it sends. Where
the SDK makes none (`ANTHROPIC_OPEN_TELEMETRY=false`, as the autouse fixture sets, or `open_telemetry=False`), the
call is llmledger's own span, from llmledger's provider.

llmledger gets a tracer provider of its own here (`ledger`), apart from the app's (`tracer_provider`), so that which
provider a span reaches is seen.
"""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import anthropic
import pytest
from opentelemetry import baggage, trace
from opentelemetry import context as otel_context
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, TraceState

from llmledger import Budget, BudgetExceeded, BudgetWarning, Scope, Window, budgets
from llmledger.instrumentation.anthropic import AnthropicInstrumentor
from tests.instrumentation.anthropic import transport
from tests.instrumentation.anthropic.test_platform_beta import BEDROCK_BETA, BEDROCK_COST, BEDROCK_MODEL, VERTEX_COST
from tests.instrumentation.anthropic.transport import MESSAGES, OPUS, STREAM, THINKING, recorded_body, recorded_json
from tests.instrumentation.features import needs, needs_parameter

SDK_SCOPE = "com.anthropic.sdk.python"
OPUS_COST = (17 * 15 + 220 * 75) / 1e6  # claude-3-opus: 17 in, 220 out
HAIKU_COST = (17 * 0.8 + 108 * 4) / 1e6  # claude-3-5-haiku: 17 in, 108 out
PROPAGATION = ("traceparent", "tracestate", "baggage")
APP_TRACE = 0xABCDEF0123456789ABCDEF0123456789


@pytest.fixture
def ledger() -> InMemorySpanExporter:
    """What reaches llmledger's own tracer provider."""
    return InMemorySpanExporter()


@pytest.fixture
def instrumented(ledger, meter_provider) -> Iterator[AnthropicInstrumentor]:
    """llmledger on, with a tracer provider of its own, apart from the app's."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(ledger))
    instrumentor = AnthropicInstrumentor()
    instrumentor.instrument(tracer_provider=provider, meter_provider=meter_provider)
    yield instrumentor
    instrumentor.uninstrument()


def _app_provider(tracer_provider) -> dict[str, Any]:
    needs_parameter(anthropic.Anthropic.__init__, "open_telemetry")  # the SDK's own tracing (anthropic 2)
    return {"open_telemetry": {"tracer_provider": tracer_provider}}


def _calls(options: dict[str, Any]) -> int:
    """One of each kind of Messages call; returns how many were made."""
    plain = transport.client(transport.json_response(recorded_json(*OPUS)), **options)
    plain.messages.create(model="claude-3-opus-20240229", max_tokens=1024, messages=MESSAGES)
    streaming = transport.client(transport.stream_response(STREAM), **options)
    list(streaming.messages.create(model="claude-3-5-haiku-20241022", max_tokens=1024, messages=MESSAGES, stream=True))
    with streaming.messages.stream(model="claude-3-5-haiku-20241022", max_tokens=1024, messages=MESSAGES) as stream:
        stream.get_final_message()

    async def run():
        client = transport.async_client(transport.stream_response(STREAM), **options)
        needs(client.beta.messages, "stream")
        async with client.beta.messages.stream(
            model="claude-3-5-haiku-20241022", max_tokens=1024, messages=MESSAGES
        ) as stream:
            await stream.get_final_message()

    asyncio.run(run())
    return 4


def _assert_costed(span, cost: float) -> None:
    assert span.attributes["gen_ai.usage.cost"] == pytest.approx(cost, rel=1e-12)
    assert span.attributes["gen_ai.usage.input_tokens"] == 17
    assert span.attributes["gen_ai.provider.name"] == "anthropic"
    assert span.attributes["llmledger.price.source"] == "genai-prices"


# --- one span per call ---------------------------------------------------------------------------------------


def test_the_sdk_traces_itself_when_it_has_a_tracer_provider(tracer_provider, span_exporter):
    """The control: without llmledger, this set-up gives the SDK's own span, so the tests below are not vacuous."""
    _calls(_app_provider(tracer_provider))

    spans = span_exporter.get_finished_spans()
    assert [s.name for s in spans] == ["anthropic.messages.create"] * 4
    assert all("gen_ai.usage.cost" not in s.attributes for s in spans)


def test_each_call_is_the_sdks_span_carrying_its_cost(instrumented, ledger, tracer_provider, span_exporter):
    count = _calls(_app_provider(tracer_provider))

    spans = span_exporter.get_finished_spans()
    assert [s.name for s in spans] == ["anthropic.messages.create"] * count
    assert {s.instrumentation_scope.name for s in spans} == {SDK_SCOPE}
    for span, cost in zip(spans, [OPUS_COST, HAIKU_COST, HAIKU_COST, HAIKU_COST], strict=True):
        _assert_costed(span, cost)
    assert [s.attributes.get("llmledger.usage.complete") for s in spans] == [None, True, True, True]  # 3 streams
    assert ledger.get_finished_spans() == ()  # and no second span of any call, anywhere


def test_without_the_sdks_tracing_each_call_is_llmledgers_span(instrumented, ledger, tracer_provider, span_exporter):
    _calls({})  # ANTHROPIC_OPEN_TELEMETRY=false (the autouse fixture)
    needs_parameter(anthropic.Anthropic.__init__, "open_telemetry")
    _calls({"open_telemetry": False})

    spans = ledger.get_finished_spans()
    assert [s.name for s in spans] == [
        "chat claude-3-opus-20240229",
        *["chat claude-3-5-haiku-20241022"] * 3,
    ] * 2
    for span, cost in zip(spans, [OPUS_COST, HAIKU_COST, HAIKU_COST, HAIKU_COST] * 2, strict=True):
        _assert_costed(span, cost)
    assert span_exporter.get_finished_spans() == ()


def test_llmledger_adds_its_own_attributes_and_leaves_the_sdks_as_the_sdk_set_them(
    instrumented, tracer_provider, span_exporter
):
    client = transport.client(transport.json_response(recorded_json(*OPUS)), **_app_provider(tracer_provider))
    client.messages.create(model="claude-3-opus-20240229", max_tokens=1024, messages=MESSAGES, stop_sequences=["END"])

    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["anthropic.message.stop_reason"] == "end_turn"  # the SDK's
    assert span.attributes["gen_ai.usage.cost"] == pytest.approx(OPUS_COST, rel=1e-12)  # llmledger's
    # The SDK counts stop sequences as content, and names the stop reason its own way: llmledger adds neither.
    for absent in ("gen_ai.request.stop_sequences", "gen_ai.response.finish_reasons"):
        assert absent not in span.attributes
    assert span.status.status_code is trace.StatusCode.OK  # the SDK's status


@pytest.mark.parametrize("sdk_content", [False, True], ids=["sdk-metadata-only", "sdk-content"])
def test_content_llmledger_is_asked_to_capture_goes_on_the_sdks_span_unless_the_sdk_recorded_it(
    sdk_content, monkeypatch, ledger, meter_provider, tracer_provider, span_exporter
):
    option: dict[str, Any] = _app_provider(tracer_provider)["open_telemetry"]
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(ledger))
    instrumentor = AnthropicInstrumentor()
    instrumentor.instrument(tracer_provider=provider, meter_provider=meter_provider)
    try:
        if sdk_content:
            option["traces"] = {"content_mode": "content"}
        client = transport.client(transport.json_response(recorded_json(*OPUS)), open_telemetry=option)
        client.messages.create(model="claude-3-opus-20240229", max_tokens=1024, messages=MESSAGES)
    finally:
        instrumentor.uninstrument()

    (span,) = span_exporter.get_finished_spans()
    sent = json.loads(span.attributes["gen_ai.input.messages"])
    if sdk_content:  # the SDK's own form: parts
        assert sent == [{"role": "user", "parts": [{"type": "text", "content": MESSAGES[0]["content"]}]}]
    else:  # llmledger's: the messages as sent
        assert sent == MESSAGES
    assert "gen_ai.output.messages" in span.attributes


def test_a_failed_call_keeps_the_sdks_error_type(instrumented, tracer_provider, span_exporter):
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    client = transport.client(transport.json_response(error, status=529), **_app_provider(tracer_provider))
    with pytest.raises(anthropic.APIStatusError):
        client.messages.create(model="claude-3-opus-20240229", max_tokens=1024, messages=MESSAGES)

    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["error.type"] == "overloaded_error"
    assert span.status.status_code is trace.StatusCode.ERROR
    assert "gen_ai.usage.cost" not in span.attributes


def test_count_tokens_is_the_sdks_span_with_the_count_and_no_cost(instrumented, tracer_provider, span_exporter):
    client = transport.client(transport.json_response({"input_tokens": 42}), **_app_provider(tracer_provider))
    counted = client.messages.count_tokens(model="claude-3-5-haiku-20241022", messages=MESSAGES)

    (span,) = span_exporter.get_finished_spans()
    assert counted.input_tokens == 42
    assert span.name == "anthropic.messages.count_tokens"
    assert span.attributes["anthropic.message.count_tokens.input_tokens"] == 42
    assert "gen_ai.usage.input_tokens" not in span.attributes  # counting tokens uses none
    assert not any(k.startswith("gen_ai.usage.cost") or k == "llmledger.cost.unpriced" for k in span.attributes)


def test_count_tokens_without_the_sdks_tracing_is_llmledgers_span(instrumented, ledger):
    client = transport.client(transport.json_response({"input_tokens": 42}))
    client.messages.count_tokens(model="claude-3-5-haiku-20241022", messages=MESSAGES)

    (span,) = ledger.get_finished_spans()
    assert span.name == "count_tokens claude-3-5-haiku-20241022"
    assert span.attributes["anthropic.message.count_tokens.input_tokens"] == 42


def test_a_raw_response_is_recorded_when_the_call_returns(instrumented, tracer_provider, span_exporter):
    client = transport.client(transport.json_response(recorded_json(*OPUS)), **_app_provider(tracer_provider))
    raw = client.messages.with_raw_response.create(model="claude-3-opus-20240229", max_tokens=1024, messages=MESSAGES)

    (span,) = span_exporter.get_finished_spans()  # before the app parses it: the SDK has ended its span
    _assert_costed(span, OPUS_COST)
    assert raw.parse().usage.output_tokens == 220


@pytest.mark.parametrize("platform", ["bedrock", "vertex"])
def test_beta_messages_on_bedrock_and_vertex_are_the_sdks_platform_span_priced_at_the_platforms_price(
    platform, instrumented, ledger, tracer_provider, span_exporter
):
    if platform == "bedrock":
        client = transport.bedrock_client(transport.json_response(recorded_json(*BEDROCK_BETA)))
        model, provider, cost = BEDROCK_MODEL, "aws.bedrock", BEDROCK_COST
    else:
        client = transport.vertex_client(transport.json_response(recorded_json(*THINKING)))
        model, provider, cost = "claude-3-7-sonnet@20250219", "gcp.vertex_ai", VERTEX_COST
    client = client.with_options(**_app_provider(tracer_provider))
    client.beta.messages.create(model=model, max_tokens=1024, messages=MESSAGES)

    (span,) = span_exporter.get_finished_spans()
    assert span.instrumentation_scope.name == f"{SDK_SCOPE}.{platform}"
    assert span.attributes["gen_ai.provider.name"] == provider
    assert span.attributes["gen_ai.usage.cost"] == pytest.approx(cost, rel=1e-9)
    assert ledger.get_finished_spans() == ()


# --- streams ----------------------------------------------------------------------------------------------


def _stream(tracer_provider) -> Any:
    client = transport.client(transport.stream_response(STREAM), **_app_provider(tracer_provider))
    return client.messages.create(model="claude-3-5-haiku-20241022", max_tokens=1024, messages=MESSAGES, stream=True)


def test_a_stream_closed_early_is_the_sdks_span_flagged_incomplete(instrumented, tracer_provider, span_exporter):
    stream = _stream(tracer_provider)
    next(iter(stream))
    stream.close()

    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["llmledger.usage.complete"] is False
    assert "gen_ai.usage.cost" not in span.attributes


def test_a_stream_whose_bytes_the_app_reads_ends_when_the_sdk_ends_it(instrumented, tracer_provider, span_exporter):
    body = recorded_body(*STREAM)  # sent as it is read, not as one buffer the HTTP client holds already
    handler = lambda request: transport.http.Response(  # noqa: E731
        200, headers={"content-type": "text/event-stream"}, content=iter([body])
    )
    client = transport.client(handler, **_app_provider(tracer_provider))
    stream = client.messages.create(model="claude-3-5-haiku-20241022", max_tokens=1024, messages=MESSAGES, stream=True)
    assert b"message_stop" in b"".join(stream.response.iter_bytes())

    (span,) = span_exporter.get_finished_spans()  # with the stream still held by the app
    assert span.attributes["llmledger.usage.complete"] is False  # llmledger read no event of it


def test_a_dropped_stream_ends_its_span(instrumented, tracer_provider, span_exporter):
    stream = _stream(tracer_provider)
    next(iter(stream))
    del stream
    gc.collect()

    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["llmledger.usage.complete"] is False


def test_a_stream_that_fails_midway_records_the_error_in_llmledgers_metrics(
    instrumented, tracer_provider, span_exporter, metric_reader
):
    handler = lambda request: transport.failing_stream(recorded_body(*STREAM), 3)  # noqa: E731
    client = transport.client(handler, **_app_provider(tracer_provider))
    stream = client.messages.create(model="claude-3-5-haiku-20241022", max_tokens=1024, messages=MESSAGES, stream=True)
    with pytest.raises(anthropic.APIConnectionError):
        list(stream)

    (span,) = span_exporter.get_finished_spans()
    assert span.status.status_code is trace.StatusCode.ERROR
    (point,) = _points(metric_reader, "gen_ai.client.operation.duration")
    assert point.attributes["error.type"] == "APIConnectionError"


# --- trace context and the app's choice of provider --------------------------------------------------------


def _headers_sent(options: dict[str, Any], how: str) -> dict[str, str]:
    """The propagation headers of one Messages call made under an app's span (with a trace state and baggage)."""
    sent: list[Any] = []

    def serve(request):
        sent.append(request.headers)
        if b'"stream":true' in request.content.replace(b" ", b""):
            return transport.sse(recorded_body(*STREAM))
        return transport.json_response(recorded_json(*OPUS))(request)

    app = SpanContext(
        APP_TRACE, 0x1234, is_remote=True, trace_flags=TraceFlags(1), trace_state=TraceState([("v", "1")])
    )
    token = otel_context.attach(baggage.set_baggage("tenant", "acme", trace.set_span_in_context(NonRecordingSpan(app))))
    try:
        client = transport.client(serve, **options)
        if how == "create":
            client.messages.create(model="claude-3-opus-20240229", max_tokens=1024, messages=MESSAGES)
        else:
            with client.messages.stream(model="claude-3-5-haiku-20241022", max_tokens=1024, messages=MESSAGES) as s:
                s.get_final_message()
    finally:
        otel_context.detach(token)
    (headers,) = sent
    return {name: headers[name] for name in PROPAGATION if name in headers}


# configuration → (the client's `open_telemetry` option, ANTHROPIC_OPEN_TELEMETRY, the global tracer provider)
CONFIGURATIONS = {
    "default: the global provider": (None, "", "app"),
    "default: no provider anywhere (the global one is a no-op)": (None, "", None),
    "ANTHROPIC_OPEN_TELEMETRY=false": (None, "false", "app"),
    "open_telemetry=False": (False, "", "app"),
    "open_telemetry={tracer_provider}": ("app", "", None),
    "open_telemetry={tracer_provider} whose sampler drops the span": ("dropping", "", None),
}


@pytest.mark.parametrize("how", ["create", "stream helper"])
@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_a_call_sends_the_trace_context_it_sends_without_llmledger_and_its_span_reaches_the_apps_provider(
    configuration, how, monkeypatch, tracer_provider, span_exporter, ledger, meter_provider
):
    needs_parameter(anthropic.Anthropic.__init__, "open_telemetry")
    option, variable, global_provider = CONFIGURATIONS[configuration]
    providers = {"app": tracer_provider, "dropping": TracerProvider(sampler=ALWAYS_OFF), None: None}
    options = {} if option is None else {"open_telemetry": option and {"tracer_provider": providers[option]}}
    monkeypatch.setenv("ANTHROPIC_OPEN_TELEMETRY", variable)
    # What `trace.set_tracer_provider` would have set, for this test only.
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", providers[global_provider])

    without = _headers_sent(options, how)
    spans_without = span_exporter.get_finished_spans()
    span_exporter.clear()
    instrumentor = AnthropicInstrumentor()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(ledger))
    instrumentor.instrument(tracer_provider=provider, meter_provider=meter_provider)
    try:
        with_llmledger = _headers_sent(options, how)
    finally:
        instrumentor.uninstrument()
    spans_with = span_exporter.get_finished_spans()

    assert with_llmledger.keys() == without.keys()
    assert {k: v for k, v in with_llmledger.items() if k != "traceparent"} == {
        k: v for k, v in without.items() if k != "traceparent"
    }
    assert [s.name for s in spans_with] == [s.name for s in spans_without]
    if spans_without:  # the SDK's span reaches the app's provider: it is the one propagated, and carries the cost
        assert without["tracestate"] == "v=1" and without["baggage"] == "tenant=acme"
        (span,) = spans_with
        assert span.parent.span_id == 0x1234
        assert with_llmledger["traceparent"] == f"00-{APP_TRACE:032x}-{span.context.span_id:016x}-01"
        assert span.attributes["gen_ai.usage.cost"] > 0
        assert ledger.get_finished_spans() == ()
    else:  # the SDK records nothing: llmledger's span, in llmledger's provider, the app's span's child
        (span,) = ledger.get_finished_spans()
        assert span.parent.span_id == 0x1234
        assert span.attributes["gen_ai.usage.cost"] > 0
        if "traceparent" in without:  # the same trace, the same sampling decision (a dropped span's id is new)
            version, trace_id, _, flags = without["traceparent"].split("-")
            assert with_llmledger["traceparent"].split("-")[::3] == [version, flags]
            assert with_llmledger["traceparent"].split("-")[1] == trace_id == f"{APP_TRACE:032x}"
            if global_provider is None and option is None:  # the no-op tracer propagates the app's span itself
                assert (
                    with_llmledger["traceparent"] == without["traceparent"] == f"00-{APP_TRACE:032x}-{0x1234:016x}-01"
                )


def test_the_app_span_current_around_a_call_is_the_parent_of_the_sdks_span(
    instrumented, tracer_provider, span_exporter
):
    client = transport.client(transport.json_response(recorded_json(*OPUS)), **_app_provider(tracer_provider))
    with tracer_provider.get_tracer("app").start_as_current_span("app") as app:
        client.messages.create(model="claude-3-opus-20240229", max_tokens=1024, messages=MESSAGES)

    call, app_span = span_exporter.get_finished_spans()
    assert (call.name, app_span.name) == ("anthropic.messages.create", "app")
    assert call.parent.span_id == app.get_span_context().span_id


# --- the tool runner -------------------------------------------------------------------------------------


def _reply(content: list[dict[str, Any]], stop: str, output_tokens: int) -> dict[str, Any]:
    usage = {"input_tokens": 17, "output_tokens": output_tokens}
    return {
        "id": f"msg_{stop}",
        "type": "message",
        "role": "assistant",
        "model": "claude-3-5-haiku-20241022",
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": usage,
    }


def test_the_tool_runners_calls_stay_its_children_each_carrying_its_cost(instrumented, tracer_provider, span_exporter):
    options = _app_provider(tracer_provider)
    from anthropic import beta_tool

    def get_weather(city: str) -> str:
        """The weather in a city.

        Args:
            city: The city.
        """
        return json.dumps({"city": city, "weather": "sunny"})

    replies = iter(
        [
            _reply(
                [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "SF"}}], "tool_use", 20
            ),
            _reply([{"type": "text", "text": "Sunny."}], "end_turn", 5),
        ]
    )
    client = transport.client(lambda request: transport.json_response(next(replies))(request), **options)
    needs(client.beta.messages, "tool_runner")
    client.beta.messages.tool_runner(
        model="claude-3-5-haiku-20241022", max_tokens=1024, tools=[beta_tool(get_weather)], messages=MESSAGES
    ).until_done()

    spans = span_exporter.get_finished_spans()
    (runner,) = [s for s in spans if s.name == "anthropic.messages.tool_runner"]
    calls = [s for s in spans if s.name == "anthropic.messages.create"]
    tools = [s for s in spans if s.attributes.get("gen_ai.operation.name") == "execute_tool"]
    assert len(spans) == 4 and len(calls) == 2 and len(tools) == 1
    assert all(s.parent.span_id == runner.context.span_id for s in (*calls, *tools))
    costs = [s.attributes["gen_ai.usage.cost"] for s in calls]
    assert costs == pytest.approx([(17 * 0.8 + 20 * 4) / 1e6, (17 * 0.8 + 5 * 4) / 1e6], rel=1e-12)
    assert "gen_ai.usage.cost" not in runner.attributes


# --- metrics and budgets -----------------------------------------------------------------------------------


def _points(metric_reader, name: str) -> list[Any]:
    data = metric_reader.get_metrics_data()
    return [
        point
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == name
        for point in metric.data.data_points
    ]


def test_metrics_are_llmledgers_whichever_span_the_call_has(instrumented, tracer_provider, metric_reader):
    _calls(_app_provider(tracer_provider))
    _calls({})

    durations = _points(metric_reader, "gen_ai.client.operation.duration")
    assert sum(point.count for point in durations) == 8
    assert {point.attributes["gen_ai.provider.name"] for point in durations} == {"anthropic"}
    cost = sum(p.value for p in _points(metric_reader, "llmledger.client.cost"))
    assert cost == pytest.approx(2 * (OPUS_COST + 3 * HAIKU_COST), rel=1e-9)


@pytest.fixture
def no_budgets() -> Iterator[None]:
    budgets.clear()
    yield
    budgets.clear()


def _daily(limit: str, action: str) -> Budget:
    return Budget("daily", Scope(), Window("day"), Decimal(limit), action=action)  # type: ignore[arg-type]


def test_a_budget_warning_goes_on_the_sdks_span(no_budgets, instrumented, tracer_provider, span_exporter):
    budgets.configure([_daily("0.000001", "warn")])
    client = transport.client(transport.json_response(recorded_json(*OPUS)), **_app_provider(tracer_provider))
    with pytest.warns(BudgetWarning):
        client.messages.create(model="claude-3-opus-20240229", max_tokens=1024, messages=MESSAGES)

    (span,) = span_exporter.get_finished_spans()
    assert span.name == "anthropic.messages.create"
    assert span.attributes["llmledger.budget.exceeded"] == ("daily",)


def test_a_call_a_budget_refuses_is_llmledgers_span_and_sends_nothing(
    no_budgets, instrumented, ledger, tracer_provider, span_exporter
):
    budgets.configure([_daily("0.000001", "raise")])
    sent = []
    client = transport.client(lambda request: sent.append(request), **_app_provider(tracer_provider))
    with pytest.raises(BudgetExceeded):
        client.messages.create(model="claude-3-opus-20240229", max_tokens=1024, messages=MESSAGES)

    assert sent == [] and span_exporter.get_finished_spans() == ()
    (span,) = ledger.get_finished_spans()
    assert span.attributes["error.type"] == "BudgetExceeded"


# --- undone --------------------------------------------------------------------------------------------------


def test_the_sdk_traces_as_before_after_uninstrument(tracer_provider, span_exporter, ledger, meter_provider):
    instrumentor = AnthropicInstrumentor()
    instrumentor.instrument(tracer_provider=TracerProvider(), meter_provider=meter_provider)
    instrumentor.uninstrument()
    client = transport.client(transport.json_response(recorded_json(*OPUS)), **_app_provider(tracer_provider))
    client.messages.create(model="claude-3-opus-20240229", max_tokens=1024, messages=MESSAGES)

    (span,) = span_exporter.get_finished_spans()
    assert span.name == "anthropic.messages.create"
    assert "gen_ai.usage.cost" not in span.attributes


def test_other_api_calls_keep_the_sdks_span_as_it_is(instrumented, ledger, tracer_provider, span_exporter):
    page = {"data": [], "has_more": False, "first_id": None, "last_id": None}
    client = transport.client(transport.json_response(page), **_app_provider(tracer_provider))
    client.models.list()

    (span,) = span_exporter.get_finished_spans()
    assert span.instrumentation_scope.name == SDK_SCOPE
    assert not any(key.startswith("llmledger.") for key in span.attributes)
    assert ledger.get_finished_spans() == ()
