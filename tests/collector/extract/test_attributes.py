# SPDX-License-Identifier: Apache-2.0
"""Custom attributes: `llmledger.custom.<key>` and allow-listed names land in `LlmCall.attributes`, bounded,
the same through the fast wire reader and the decoded-span path."""

from __future__ import annotations

from opentelemetry import baggage, context
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmledger.collector.extract import Extractor
from llmledger.collector.extract.attributes import DEFAULT, AttributeSelection
from llmledger.collector.extract.build_calls import span_to_call
from llmledger.collector.extract.read_spans import resource_dimensions
from llmledger.collector.extract.values import read

CALL = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini", "gen_ai.usage.input_tokens": 3}


def _spans(span_attributes: dict, resource: dict | None = None, processor: SpanProcessor | None = None):
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "svc", **(resource or {})}))
    if processor is not None:
        provider.add_span_processor(processor)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("t").start_as_current_span("chat gpt-4o-mini") as span:
        span.set_attributes({**CALL, **span_attributes})
    return exporter.get_finished_spans()


def _both_paths(spans, selection: AttributeSelection = DEFAULT):
    """The call as the wire reader extracts it, after checking the decoded path agrees."""
    request = encode_spans(spans)
    (wire,) = Extractor(selection).calls(request.SerializeToString()).calls
    resource_spans = request.resource_spans[0]
    resource = resource_dimensions(read(resource_spans.resource.attributes, selection.wanted), selection)
    decoded = span_to_call(resource_spans.scope_spans[0].spans[0], resource, attributes=selection)
    assert decoded == wire
    return wire


def test_custom_attributes_are_stored_without_their_prefix_span_before_resource():
    call = _both_paths(
        _spans(
            {"llmledger.custom.team": "core", "llmledger.custom.plan": "pro"},
            {"llmledger.custom.team": "resource-team", "llmledger.custom.region": "eu"},
        )
    )
    assert call.attributes == {"team": "core", "plan": "pro", "region": "eu"}


def test_other_attributes_are_stored_only_when_allow_listed():
    spans = _spans({"app.region": "eu-west-1", "app.secret": "s3cr3t"}, {"k8s.namespace.name": "prod"})

    assert _both_paths(spans).attributes == {}
    listed = _both_paths(spans, AttributeSelection.of(["app.region", "k8s.namespace.name"]))
    assert listed.attributes == {"app.region": "eu-west-1", "k8s.namespace.name": "prod"}


def test_values_of_any_type_are_stored_as_text():
    call = _both_paths(
        _spans({"llmledger.custom.n": 7, "llmledger.custom.ok": True, "llmledger.custom.tags": ["a", "b"]})
    )
    assert call.attributes == {"n": "7", "ok": "true", "tags": "a,b"}


def test_storage_is_bounded_in_keys_key_length_and_value_length():
    many = {f"llmledger.custom.k{index:02}": "v" for index in range(40)}
    call = _both_paths(_spans(many))
    assert sorted(call.attributes) == [f"k{index:02}" for index in range(32)]

    call = _both_paths(
        _spans({"llmledger.custom.long": "x" * 1000, f"llmledger.custom.{'k' * 129}": "dropped"}),
        AttributeSelection(max_value_length=10),
    )
    assert call.attributes == {"long": "x" * 10}


def test_known_dimensions_still_go_to_their_columns_not_to_attributes():
    call = _both_paths(
        _spans({"llmledger.user_id": "u-1", "llmledger.feature": "search"}, {"llmledger.tenant": "acme"}),
        AttributeSelection.of(["llmledger.user_id"]),
    )
    assert (call.tenant, call.feature, call.user_id, call.service_name) == ("acme", "search", "u-1", "svc")
    assert call.attributes == {"llmledger.user_id": "u-1"}  # allow-listed: also copied, as asked


class _BaggageToAttributes(SpanProcessor):
    """What OTel's baggage span processor does: every baggage entry becomes a span attribute of the same name."""

    def on_start(self, span, parent_context=None) -> None:
        for key, value in baggage.get_all(parent_context).items():
            span.set_attribute(key, str(value))


def test_baggage_copied_onto_spans_counts_like_span_attributes():
    ctx = baggage.set_baggage("llmledger.user_id", "from-baggage")
    ctx = baggage.set_baggage("llmledger.custom.experiment", "b", ctx)
    token = context.attach(ctx)
    try:
        spans = _spans({}, processor=_BaggageToAttributes())
    finally:
        context.detach(token)

    call = _both_paths(spans)
    assert call.user_id == "from-baggage"
    assert call.attributes == {"experiment": "b"}
