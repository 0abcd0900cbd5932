# SPDX-License-Identifier: Apache-2.0
"""The row path gives exactly the rows of the `LlmCall` path: `Extractor().columns(body)` equals
`storable(Extractor().calls(body).calls)`, in Python and with the C, with the same prices and refusals, for every
convention the collector reads and for generated spans, common and absurd (huge counts, reported costs, custom
attributes, long names, NaNs)."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmledger.collector.extract import Extractor
from llmledger.collector.extract import conventions as names
from llmledger.collector.extract.attributes import DEFAULT, AttributeSelection
from llmledger.collector.llm_calls import storable
from tests.collector.conventions import CONVENTIONS, not_llm_calls


def _assert_same_rows(body: bytes, selection: AttributeSelection = DEFAULT) -> None:
    python = Extractor(selection, native=False)
    expected = python.calls(body)
    columns, rejected = storable(expected.calls)
    for extractor in (python, Extractor(selection)):  # the Python alone, and with the C where it is built
        found = extractor.columns(body)
        assert (found.spans, found.rejected, found.prices) == (expected.spans, rejected, expected.prices)
        assert _comparable(found.columns.columns) == _comparable(columns.columns)


def _comparable(columns) -> list[list[object]]:
    """Columns with NaN as a string, so that equal rows compare equal."""
    return [[("nan" if isinstance(v, float) and math.isnan(v) else v) for v in column] for column in columns]


def test_every_convention_and_every_span_that_is_not_a_call_give_the_same_rows_either_way():
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "support-bot", "llmledger.custom.team": "a"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    for build in CONVENTIONS.values():
        build(provider)
    not_llm_calls(provider)
    body = encode_spans(exporter.get_finished_spans()).SerializeToString()
    _assert_same_rows(body)
    _assert_same_rows(body, AttributeSelection.of(["server.address", "gen_ai.request.model"]))


def test_the_benchmark_workload_gives_the_same_rows_either_way():
    from benchmarks.collector_ingest import build_requests

    for reported_costs in (False, True):  # priced here, or carrying llmledger's cost attributes
        for body in build_requests(1024, reported_costs=reported_costs):
            _assert_same_rows(body)


def _stream(host: str, **attributes: object) -> bytes:
    """A streamed chat call to `host`, with `attributes` on top (None removes one)."""
    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add(
        trace_id=b"\x01" * 16, span_id=b"\x02" * 8, name="chat gpt-4o-mini",
        start_time_unix_nano=1_750_000_000 * 10**9, end_time_unix_nano=1_750_000_001 * 10**9,
    )  # fmt: skip
    found: dict[str, object] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.request.stream": True,
        "server.address": host,
        **attributes,
    }
    span.attributes.extend(KeyValue(key=k, value=_value(v)) for k, v in found.items() if v is not None)
    return request.SerializeToString()


def _stored_attributes(body: bytes) -> list[dict[str, str]]:
    _assert_same_rows(body)
    return list(Extractor().columns(body).columns.field("attributes"))


def test_a_stream_whose_usage_never_arrived_keeps_the_host_it_went_to_without_an_allow_list():
    gateway = _stream("llm-gateway.internal", **{"llmledger.usage.complete": False})
    assert _stored_attributes(gateway) == [{"server.address": "llm-gateway.internal"}]
    no_tokens = _stream("localhost")  # no usage at all: flagged incomplete too
    assert _stored_attributes(no_tokens) == [{"server.address": "localhost"}]


def test_a_call_with_its_usage_stores_no_host_unless_the_operator_allow_lists_it():
    priced = _stream("api.openai.com", **{"gen_ai.usage.input_tokens": 12, "gen_ai.usage.output_tokens": 3})
    assert _stored_attributes(priced) == [{}]
    allowed = Extractor(AttributeSelection.of(["server.address"])).columns(priced).columns
    assert list(allowed.field("attributes")) == [{"server.address": "api.openai.com"}]


# Generated spans: attributes drawn from the names every convention uses, with values of every kind a sender
# may put there (well-formed and not).
_KEYS = [
    *sorted(names.READ - {names.OPENINFERENCE_KIND, names.TRACELOOP_KIND}),
    "llmledger.custom.plan",
    "llmledger.custom." + "k" * 200,
    "server.address",
    "team",
]
_MODELS = ["gpt-4o-mini", "gpt-4o", "claude-3-5-sonnet-20241022", "gemini-1.5-pro", "llama-local", "x" * 1500]
_PROVIDERS = ["openai", "anthropic", "gcp.gemini", "vllm", "Anthropic", "unknown-host"]
_values = st.one_of(
    st.integers(-5, 10**6),
    st.integers(0, 2**63 - 1),
    st.sampled_from(_MODELS + _PROVIDERS + ["chat", "embeddings", "invoke_agent", "stop", "1000", " 12 ", "true"]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(0, 10),
    st.booleans(),
    st.text(max_size=20),
    st.lists(st.sampled_from(["stop", "length", ""]), max_size=2),
)
_likely = {  # most generated spans look like real calls, so that the common path is exercised too
    "gen_ai.operation.name": st.sampled_from(["chat", "embeddings", "text_completion"]),
    "gen_ai.provider.name": st.sampled_from(_PROVIDERS),
    "gen_ai.request.model": st.sampled_from(_MODELS),
    "gen_ai.response.model": st.sampled_from(_MODELS),
    "gen_ai.usage.input_tokens": st.integers(0, 2**33),
    "gen_ai.usage.output_tokens": st.integers(0, 5000),
    "gen_ai.usage.cache_read.input_tokens": st.integers(0, 3000),
    "gen_ai.usage.cache_creation.input_tokens": st.integers(0, 3000),
    "llmledger.usage.cache_creation_1h.input_tokens": st.integers(0, 3000),
    "gen_ai.response.time_to_first_chunk": st.floats(allow_nan=True),
}


_cost = st.one_of(st.floats(0, 5), st.floats(0, 5).map(lambda amount: round(amount, 6)), st.just(0.0))
_reported = {  # a cost as spans report it: ours (total, parts, provenance), OpenLIT's total, OpenInference's
    "gen_ai.usage.cost": _cost,
    "gen_ai.usage.cost.amount": _cost,
    "gen_ai.usage.cost.currency": st.sampled_from(["USD", "EUR", "", "c" * 1100]),
    "llmledger.cost.input": _cost,
    "llmledger.cost.cache_read": _cost,
    "llmledger.cost.cache_write": _cost,
    "llmledger.cost.output": _cost,
    "llmledger.price.model": st.sampled_from(_MODELS),
    "gen_ai.usage.cost.source": st.sampled_from(["local", "provider", "Provider", ""]),
    "llm.cost.prompt": _cost,
    "llm.cost.total": st.one_of(_cost, st.floats(), st.just("0.25"), st.integers(-3, 10**18)),
}


def _value(value: object) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, list):
        return AnyValue(array_value=ArrayValue(values=[AnyValue(string_value=item) for item in value]))
    return AnyValue(string_value=value)


@st.composite
def _spans(draw: st.DrawFn) -> dict[str, object]:
    attributes = {key: draw(strategy) for key, strategy in _likely.items() if draw(st.integers(0, 3))}
    if draw(st.booleans()):  # half the spans report a cost of their own, in any subset of the names
        attributes.update({key: draw(strategy) for key, strategy in _reported.items() if draw(st.booleans())})
    attributes.update(draw(st.dictionaries(st.sampled_from(_KEYS), _values, max_size=6)))
    start = draw(st.one_of(st.integers(1_700_000_000 * 10**9, 1_800_000_000 * 10**9), st.integers(0, 2**64 - 1)))
    return {
        "attributes": attributes,
        "start": start,
        "end": draw(st.one_of(st.just(min(start + 10**9, 2**64 - 1)), st.integers(0, 2**64 - 1))),
        "status": draw(st.integers(0, 2)),
        "name": draw(st.sampled_from(["chat", "", "n" * 1100])),
        "ids": draw(st.sampled_from([(16, 8), (16, 0), (0, 0), (300, 8)])),
    }


def generated_request(spans: list[dict[str, Any]], resource: dict[str, object] | None = None) -> bytes:
    """One request of `_spans()` drawn spans under a resource with these attributes."""
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.extend(KeyValue(key=k, value=_value(v)) for k, v in (resource or {}).items())
    scope = resource_spans.scope_spans.add()
    for index, drawn in enumerate(spans):
        span = scope.spans.add(
            trace_id=bytes([index + 1]) * drawn["ids"][0],
            span_id=bytes([index + 7]) * drawn["ids"][1],
            name=drawn["name"],
            start_time_unix_nano=drawn["start"],
            end_time_unix_nano=drawn["end"],
        )
        span.status.code = drawn["status"]
        span.attributes.extend(KeyValue(key=k, value=_value(v)) for k, v in drawn["attributes"].items())
    return request.SerializeToString()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_spans(), min_size=1, max_size=8), st.dictionaries(st.sampled_from(_KEYS), _values, max_size=3))
def test_generated_spans_give_the_same_rows_either_way(spans, resource):
    body = generated_request(spans, resource)
    _assert_same_rows(body)
    generous = AttributeSelection(frozenset({"team", "server.address"}), max_keys=70, max_value_length=2000)
    _assert_same_rows(body, generous)  # past `bounds`' limits: clamped the same way
