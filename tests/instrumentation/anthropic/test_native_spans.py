# SPDX-License-Identifier: Apache-2.0
"""Exactly one LLM span per call, carrying our cost, whether or not the Anthropic SDK traces itself.

The SDK (2.x) starts its own `anthropic.messages.create` span whenever it has a tracer provider. Here it gets
the test's provider through its `open_telemetry` option (native tracing on), or `ANTHROPIC_OPEN_TELEMETRY=false`
(native tracing off, as the autouse fixture sets), and every kind of call is counted.
"""

from __future__ import annotations

import asyncio

import anthropic
import pytest

from llmledger.instrumentation.anthropic import AnthropicInstrumentor
from tests.instrumentation.anthropic import transport
from tests.instrumentation.anthropic.transport import MESSAGES, OPUS, STREAM, recorded_json
from tests.instrumentation.features import needs, needs_parameter


def _native_on(tracer_provider):
    needs_parameter(anthropic.Anthropic.__init__, "open_telemetry")  # the SDK's own tracing (anthropic 2)
    return {"open_telemetry": {"tracer_provider": tracer_provider}}


def _calls(options):
    """One of each kind of call; returns how many LLM calls were made."""
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


def test_the_sdk_traces_itself_when_it_has_a_tracer_provider(tracer_provider, span_exporter):
    """The control: without llmledger, this set-up gives the SDK's own span, so the tests below are not vacuous."""
    _calls(_native_on(tracer_provider))

    spans = span_exporter.get_finished_spans()
    assert [s.name for s in spans] == ["anthropic.messages.create"] * 4
    assert all("gen_ai.usage.cost" not in s.attributes for s in spans)


@pytest.mark.parametrize("native", ["on", "off"])
def test_exactly_one_span_per_call_with_its_cost(native, instrumented, tracer_provider, span_exporter):
    count = _calls(_native_on(tracer_provider) if native == "on" else {})

    spans = span_exporter.get_finished_spans()
    assert len(spans) == count, [s.name for s in spans]
    assert not [s for s in spans if s.name.startswith("anthropic.")]
    for span in spans:
        assert span.instrumentation_scope.name == "llmledger.instrumentation.anthropic"
        assert span.attributes["gen_ai.usage.cost"] > 0
        assert span.attributes["gen_ai.usage.input_tokens"] == 17


def test_count_tokens_is_one_span_without_cost(native_on_and_off, instrumented, tracer_provider, span_exporter):
    options = _native_on(tracer_provider) if native_on_and_off else {}
    client = transport.client(transport.json_response({"input_tokens": 42}), **options)
    counted = client.messages.count_tokens(model="claude-3-5-haiku-20241022", messages=MESSAGES)

    (span,) = span_exporter.get_finished_spans()
    assert counted.input_tokens == 42
    assert span.name == "count_tokens claude-3-5-haiku-20241022"
    assert span.attributes["anthropic.message.count_tokens.input_tokens"] == 42
    assert "gen_ai.usage.input_tokens" not in span.attributes  # counting tokens uses none
    assert not any(k.startswith("gen_ai.usage.cost") or k == "llmledger.cost.unpriced" for k in span.attributes)


@pytest.fixture(params=[True, False], ids=["native-on", "native-off"])
def native_on_and_off(request):
    return request.param


def test_native_spans_come_back_after_uninstrument(tracer_provider, span_exporter):
    instrumentor = AnthropicInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    instrumentor.uninstrument()
    client = transport.client(transport.json_response(recorded_json(*OPUS)), **_native_on(tracer_provider))
    client.messages.create(model="claude-3-opus-20240229", max_tokens=1024, messages=MESSAGES)

    assert [s.name for s in span_exporter.get_finished_spans()] == ["anthropic.messages.create"]


def test_other_api_calls_keep_their_native_spans(instrumented, tracer_provider, span_exporter):
    """Only the calls llmledger records lose the SDK's span; the rest of the SDK traces as before."""
    page = {"data": [], "has_more": False, "first_id": None, "last_id": None}
    client = transport.client(transport.json_response(page), **_native_on(tracer_provider))
    client.models.list()

    assert [s.instrumentation_scope.name for s in span_exporter.get_finished_spans()] == ["com.anthropic.sdk.python"]
