# SPDX-License-Identifier: Apache-2.0
"""A call whose SDK may trace it itself waits for a span: it records on the SDK's span, or on its own where there is
none, and what was set before it had one is not lost."""

from __future__ import annotations

import pytest
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmledger._core.usage import Usage
from llmledger.instrumentation._shared.invocation import Invocation, Request, Response
from llmledger.instrumentation._shared.telemetry import Telemetry
from llmledger.instrumentation._shared.wrapping import call_context, recording

RESPONSE = Response(model="gpt-4o-mini", usage=Usage(input_tokens=1000, output_tokens=200))


@pytest.fixture
def ours() -> InMemorySpanExporter:
    """What reaches llmledger's provider."""
    return InMemorySpanExporter()


@pytest.fixture
def telemetry(ours: InMemorySpanExporter, meter_provider) -> Telemetry:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(ours))
    return Telemetry.create("test", provider, meter_provider)


def test_a_call_started_span_later_records_on_the_span_it_adopts(telemetry, ours, tracer_provider, span_exporter):
    invocation = Invocation(telemetry, "openai", Request("chat", "gpt-4o-mini"), span_later=True)
    invocation.span.set_attribute("llmledger.budget.exceeded", ("daily",))  # before it has a span
    assert not invocation.has_span

    sdk_span = tracer_provider.get_tracer("sdk").start_span("sdk.call")
    assert invocation.adopt(sdk_span)
    assert not invocation.adopt(tracer_provider.get_tracer("sdk").start_span("another"))  # one span per call
    invocation.finish(RESPONSE)

    (span,) = span_exporter.get_finished_spans()
    assert span.name == "sdk.call"
    assert span.attributes["gen_ai.request.model"] == "gpt-4o-mini"  # what llmledger's span would have started with
    assert span.attributes["llmledger.budget.exceeded"] == ("daily",)
    assert span.attributes["gen_ai.usage.cost"] > 0
    assert ours.get_finished_spans() == ()


def test_a_call_that_never_gets_the_sdks_span_is_its_own_from_its_start_under_its_callers_span(
    telemetry, ours, tracer_provider
):
    with tracer_provider.get_tracer("app").start_as_current_span("app") as app:
        invocation = Invocation(telemetry, "openai", Request("chat", "gpt-4o-mini"), span_later=True)
    invocation.finish(RESPONSE)  # later, elsewhere: a stream read after the caller's span ended

    (span,) = ours.get_finished_spans()
    assert span.name == "chat gpt-4o-mini"
    assert span.parent.span_id == app.get_span_context().span_id
    assert span.start_time < span.end_time
    assert span.attributes["gen_ai.usage.cost"] > 0


def test_a_call_waiting_for_its_span_runs_under_its_callers_span_and_is_marked_recorded(telemetry, tracer_provider):
    with tracer_provider.get_tracer("app").start_as_current_span("app") as app:
        invocation = Invocation(telemetry, "openai", Request("chat", "gpt-4o-mini"), span_later=True)
        token = otel_context.attach(call_context(invocation))
        try:
            assert trace.get_current_span() is app
            assert recording() is invocation
        finally:
            otel_context.detach(token)
    invocation.own_span()
    token = otel_context.attach(call_context(invocation))
    try:
        assert trace.get_current_span() is invocation.span
    finally:
        otel_context.detach(token)
    invocation.finish()
