# SPDX-License-Identifier: Apache-2.0
"""Extraction: one span per convention, made with the OpenTelemetry SDK, becomes exactly the expected LlmCall."""

from __future__ import annotations

from decimal import Decimal

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmledger.collector.extract import Extractor
from llmledger.collector.extract.build_calls import is_llm_call, usage_of
from llmledger.collector.llm_calls import LlmCall
from tests.collector.conventions import CONVENTIONS, not_llm_calls

RESOURCE = {"service.name": "support-bot", "deployment.environment.name": "prod"}
_DEFAULTS = LlmCall(timestamp_ns=0, trace_id="", span_id="")


def _provider(resource: dict[str, str] | None = None) -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create(resource or RESOURCE))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


@pytest.mark.parametrize("convention", list(CONVENTIONS))
def test_each_convention_becomes_the_expected_call(convention):
    provider, exporter = _provider()
    expected = CONVENTIONS[convention](provider)
    (span,) = exporter.get_finished_spans()

    extraction = Extractor().calls(encode_spans([span]))

    (call,) = extraction.calls
    assert call.trace_id == f"{span.context.trace_id:032x}"
    assert call.span_id == f"{span.context.span_id:016x}"
    assert call.timestamp_ns == span.start_time
    assert call.duration_ms == pytest.approx((span.end_time - span.start_time) / 1e6)
    assert call.span_name == span.name
    assert call.service_name == "support-bot"
    assert call.environment == "prod"
    for name in ("input_cost", "cache_read_cost", "cache_write_cost", "output_cost", "other_cost", "total_cost"):
        assert isinstance(getattr(call, name), Decimal)
    parts = call.input_cost + call.cache_read_cost + call.cache_write_cost + call.output_cost + call.other_cost
    assert parts == call.total_cost
    actual = {name: getattr(call, name) for name in expected}
    assert actual == expected
    untouched = {
        name: getattr(call, name)
        for name in ("tenant", "feature", "user_id", "session_id", "cache_creation_input_tokens", "other_cost")
        if name not in expected
    }
    assert untouched == {name: getattr(_DEFAULTS, name) for name in untouched}
    if call.cost_source == "collector":
        assert call.price_id and call.price_id in extraction.prices
    if call.cost_source == "unpriced":
        assert call.total_cost == 0 and call.price_id == ""


def test_spans_that_are_not_calls_are_skipped_and_counted():
    provider, exporter = _provider()
    not_llm_calls(provider)
    extraction = Extractor().calls(encode_spans(exporter.get_finished_spans()))
    assert extraction.calls == []
    assert extraction.spans == 5


def test_resource_dimensions_fill_in_and_span_attributes_win():
    provider, exporter = _provider(
        {"service.name": "batch", "deployment.environment": "staging", "llmledger.tenant": "globex", "enduser.id": "u0"}
    )
    tracer = provider.get_tracer("t")
    usage = {"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini", "gen_ai.usage.input_tokens": 1}
    with tracer.start_as_current_span("a", attributes=usage):
        pass
    with tracer.start_as_current_span("b", attributes={**usage, "llmledger.tenant": "acme", "enduser.id": "u1"}):
        pass
    first, second = Extractor().calls(encode_spans(exporter.get_finished_spans())).calls
    assert (first.tenant, first.user_id, first.environment, first.service_name) == ("globex", "u0", "staging", "batch")
    assert (second.tenant, second.user_id) == ("acme", "u1")


def test_an_error_without_usage_costs_nothing_but_a_success_without_usage_is_unpriced_and_incomplete():
    provider, exporter = _provider()
    tracer = provider.get_tracer("t")
    base = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini"}
    with tracer.start_as_current_span("failed", attributes={**base, "error.type": "RateLimitError"}):
        pass
    with tracer.start_as_current_span("no usage", attributes=base):
        pass
    failed, missing = Extractor().calls(encode_spans(exporter.get_finished_spans())).calls
    assert (failed.status_code, failed.error_type, failed.cost_source, failed.total_cost) == (
        "Error",
        "RateLimitError",
        "collector",
        0,
    )
    assert (missing.cost_source, missing.usage_complete, missing.total_cost) == ("unpriced", False, 0)


def test_counts_sent_as_json_strings_or_integral_doubles_are_read():
    usage = usage_of({"gen_ai.usage.input_tokens": "1000", "gen_ai.usage.output_tokens": 200.0})
    assert (usage.input_tokens, usage.output_tokens) == (1000, 200)


def test_output_excluding_reasoning_gets_it_added_and_totals_give_a_missing_output():
    reasoning = usage_of({"gen_ai.usage.output_tokens": 5, "gen_ai.usage.reasoning.output_tokens": 50})
    assert reasoning.output_tokens == 55
    from_total = usage_of({"gen_ai.usage.input_tokens": 10, "llm.usage.total_tokens": 25})
    assert from_total.output_tokens == 15


def test_a_model_name_alone_without_an_inference_operation_is_not_a_call():
    assert not is_llm_call({"gen_ai.request.model": "gpt-4o"})
    assert is_llm_call({"gen_ai.request.model": "gpt-4o", "gen_ai.operation.name": "embeddings"})


@pytest.mark.parametrize(
    ("attributes", "stored"),
    [
        ({"gen_ai.usage.cost": 0.0042, "gen_ai.usage.cost.source": "provider"}, "provider"),
        ({"gen_ai.usage.cost": 0.0042, "gen_ai.usage.cost.source": "local"}, "instrumentation"),
        ({"gen_ai.usage.cost": 0.0042}, "instrumentation"),  # OpenLIT's cost: computed by its instrumentation
        ({}, "collector"),
        ({"gen_ai.request.model": "no-such-model"}, "unpriced"),
    ],
)
def test_the_cost_source_names_who_computed_the_cost(attributes, stored):
    provider, exporter = _provider()
    with provider.get_tracer("any").start_as_current_span("chat gpt-4o-mini") as span:
        span.set_attributes(
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.usage.input_tokens": 100,
                "gen_ai.usage.output_tokens": 10,
                **attributes,
            }
        )

    (call,) = Extractor().calls(encode_spans(exporter.get_finished_spans())).calls

    assert call.cost_source == stored
