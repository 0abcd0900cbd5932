# SPDX-License-Identifier: Apache-2.0
"""The C row builder (`_build_rows.c`) builds exactly the row `build_rows._row` builds, or leaves the span to it:
for the spans of every convention, the benchmark's workloads, and generated spans, common and absurd. It builds the
common ones itself, which is the point of it."""

from __future__ import annotations

import functools
import gc
import math
import weakref
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmledger.collector.extract import build_rows
from llmledger.collector.extract import conventions as names
from llmledger.collector.extract.attributes import DEFAULT, AttributeSelection
from llmledger.collector.extract.build_calls import is_llm_call
from llmledger.collector.extract.read_spans import SpanReader
from tests.collector.conventions import CONVENTIONS, not_llm_calls
from tests.collector.extract.test_build_rows import _spans, _value, generated_request

pytestmark = pytest.mark.skipif(not build_rows.NATIVE, reason="the C extensions are not built (no C compiler)")
_rows = build_rows._build_rows


def _llm_spans(body: bytes, selection: AttributeSelection = DEFAULT) -> Iterator[tuple[Any, Any, Any]]:
    for resource, spans, founds in SpanReader(selection).scopes(body):
        for span, found in zip(spans, founds, strict=True):
            if found and is_llm_call(found):
                yield span, found, resource


def _both(span: Any, found: Any, resource: Any, selection: AttributeSelection = DEFAULT) -> tuple[Any, Any]:
    """(the C row or None, with the prices it used; `_row`'s row or None, with the prices it used)."""
    fast_row = build_rows.native_row()
    assert fast_row is not None
    ours, theirs = build_rows._Pricing(), build_rows._Pricing()
    fast = fast_row(span, found, resource, selection.wanted, selection.names, ours.entries, ours.used, ours.entry)
    slow = build_rows._row(span, found, resource, theirs, selection)
    return (_comparable(fast), ours.used), (_comparable(slow), theirs.used)


def _comparable(row: Any) -> Any:
    if row is None:
        return None
    return tuple(("nan" if isinstance(value, float) and math.isnan(value) else value) for value in row)


def _assert_alike_or_left(body: bytes, selection: AttributeSelection = DEFAULT) -> int:
    """Every LLM span of `body` gets `_row`'s row from C, or None, and every other span None; returns how many
    C built."""
    built = 0
    for resource, spans, founds in SpanReader(selection).scopes(body):
        for span, found in zip(spans, founds, strict=True):
            if found and not is_llm_call(found):
                assert _both(span, found, resource, selection)[0][0] is None, found
    for span, found, resource in _llm_spans(body, selection):
        (fast, fast_used), (slow, slow_used) = _both(span, found, resource, selection)
        if fast is not None:
            assert fast == slow
            assert fast_used == slow_used
            built += 1
    return built


def test_the_benchmark_workloads_are_built_in_c_as_in_python():
    from benchmarks.collector_ingest import build_requests

    for reported_costs in (False, True):  # priced here, or carrying llmledger's cost attributes
        for body in build_requests(1024, reported_costs=reported_costs):
            assert _assert_alike_or_left(body) == 512


def test_every_convention_is_built_in_c_as_in_python():
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "support-bot"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    for build in CONVENTIONS.values():
        build(provider)
    body = encode_spans(exporter.get_finished_spans()).SerializeToString()
    # All but LiteLLM's and LangSmith's spans, `_row`'s alone: their cached tokens are in text C does not read.
    assert _assert_alike_or_left(body) == len(list(_llm_spans(body))) - 2
    # Custom attributes are `_row`'s to pick: with a resource that gives one, C leaves every span to it.
    provider = TracerProvider(resource=Resource.create({"llmledger.custom.team": "a"}))
    exporter.clear()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    for build in CONVENTIONS.values():
        build(provider)
    assert _assert_alike_or_left(encode_spans(exporter.get_finished_spans()).SerializeToString()) == 0


def test_spans_that_are_not_calls_are_left_to_python():
    """Agent, tool and workflow spans (which may carry their children's usage), OpenLLMetry's framework spans and
    OpenInference's non-LLM kinds: C never takes one for a call; `is_llm_call` decides."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    not_llm_calls(provider)
    body = encode_spans(exporter.get_finished_spans()).SerializeToString()
    assert [found for _, _, founds in SpanReader().scopes(body) for found in founds if found]  # GenAI, no calls
    assert _assert_alike_or_left(body) == 0


def _request(attributes: dict[str, object], start: int = 1_750_000_000 * 10**9, status: int = 0) -> bytes:
    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add(
        trace_id=b"\x01" * 16, span_id=b"\x02" * 8, name="chat", start_time_unix_nano=start,
        end_time_unix_nano=start + 1_500_000_000,
    )  # fmt: skip
    span.status.code = status
    span.attributes.extend(KeyValue(key=k, value=_value(v)) for k, v in attributes.items() if v is not None)
    return request.SerializeToString()


_CALL = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": "gpt-4o",
    "gen_ai.response.model": "gpt-4o-2024-08-06",
    "gen_ai.usage.input_tokens": 1200,
    "gen_ai.usage.output_tokens": 300,
    "gen_ai.usage.cache_read.input_tokens": 1024,
    "gen_ai.response.finish_reasons": ["stop"],
    "user.id": "u-7",
}


def _built_in_c(attributes: dict[str, object], **span: int) -> bool:
    (fast, _), (slow, _) = _both(*next(_llm_spans(_request(attributes, **span))))
    assert fast is None or fast == slow
    return fast is not None


def test_a_common_call_is_built_in_c_with_its_price_and_cache_savings():
    (row, used), _ = _both(*next(_llm_spans(_request(_CALL))))
    assert row is not None
    # gpt-4o: $2.50 input, $1.25 cached input, $10 output per million tokens, in 10⁻¹² USD: 176 uncached tokens,
    # 1,024 cache reads, 300 out; savings = 1,200 × 2.5e6 + output − total.
    assert row[28:36] == (440_000_000, 1_280_000_000, 0, 3_000_000_000, 0, 4_720_000_000, 1_280_000_000, "collector")
    assert row[23:28] == (1200, 300, 1024, 0, 0)
    assert row[36] in used  # the price it used is reported, as `_row` reports it
    assert row[11] == "u-7"


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"gen_ai.usage.input_tokens": "1200"}, "a count written as a string: `count` reads it"),
        ({"gen_ai.usage.input_tokens": 1200.0}, "a count written as a double"),
        ({"gen_ai.usage.output_tokens": None, "llm.usage.total_tokens": "1500"}, "output from a total in a string"),
        ({"gen_ai.usage.input_tokens": 2**32}, "a count past UInt32: `bound` clamps it"),
        ({"llmledger.custom.team": "search"}, "a custom attribute: `_row` picks it"),
        ({"gen_ai.response.time_to_first_chunk": float("nan")}, "a time `bound` clamps"),
        ({"gen_ai.usage.cost": 2e6}, "a cost of a million USD: refused"),
        (
            {"llmledger.usage.complete": False, "server.address": "gateway.internal"},
            "usage that never arrived, from a named host: `_row` stores the host",
        ),
    ],
)
def test_what_c_leaves_to_python(change, why):
    assert not _built_in_c({**_CALL, **change}), why


def test_a_call_without_usage_is_built_in_c_when_it_names_no_host_and_a_complete_call_whatever_its_host():
    assert _built_in_c({**_CALL, "llmledger.usage.complete": False})
    assert _built_in_c({**_CALL, "server.address": "api.openai.com"})


def test_reported_costs_unpriced_models_failed_calls_and_other_names_are_built_in_c():
    assert _built_in_c({**_CALL, "gen_ai.usage.output_tokens": None, "llm.usage.total_tokens": 1500})
    assert _built_in_c({**_CALL, "gen_ai.usage.input_tokens": -1, "llm.token_count.prompt": 1200})
    assert _built_in_c({**_CALL, "gen_ai.usage.cost": 0.0042, "llmledger.cost.input": 0.0011})
    assert _built_in_c({**_CALL, "gen_ai.request.model": "no-such-model", "gen_ai.response.model": "no-such-model"})
    failed = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o", "error.type": "RateLimitError"}
    assert _built_in_c(failed, status=2)
    assert _built_in_c({key: value for key, value in failed.items() if key != "error.type"})


@pytest.mark.parametrize(
    ("cost_source", "stored"),
    [("provider", "provider"), ("local", "instrumentation"), (None, "instrumentation")],
)
def test_who_computed_a_reported_cost_is_named_in_c_as_in_python(cost_source, stored):
    (row, _), (slow, _) = _both(
        *next(_llm_spans(_request({**_CALL, "gen_ai.usage.cost": 0.0042, "gen_ai.usage.cost.source": cost_source})))
    )
    assert row is not None and row == slow
    assert (row[33], row[35], row[36]) == (4_200_000_000, stored, "")  # the span's total, kept; no price of ours


@pytest.fixture
def python_reads_no_cost():
    """The C builder configured to fail the test if it hands a reported cost to Python."""

    def refuse(found):
        raise AssertionError(f"a reported cost left to Python: {found}")

    build_rows.configure_native(refuse)
    yield
    build_rows.configure_native()


def test_llmledgers_own_spans_have_their_reported_cost_read_in_c(python_reads_no_cost):
    from benchmarks.collector_ingest import build_requests

    for body in build_requests(512, reported_costs=True):
        assert _assert_alike_or_left(body) == 512


@pytest.mark.parametrize(
    "amount",
    [5e-13, 1.5e-12, 2.5e-12, 0.0042, 0.1 + 0.2, 1e-18, 123456.75, 999999.999999, 0, 7, -0.0, float("nan")],
)
def test_reported_amounts_round_half_even_to_the_column_in_c(amount, python_reads_no_cost):
    """Every reported float below a million USD with at most 18 decimals is read exactly, as `Decimal(repr())`."""
    assert _built_in_c({**_CALL, "llmledger.cost.input": amount, "llmledger.cost.output": 1e-12})  # a part
    assert _built_in_c({**_CALL, "gen_ai.usage.cost": amount})  # a total alone: all of it "other"


def test_half_a_pico_dollar_rounds_to_the_even_neighbour():
    for amount, stored in ((5e-13, 0), (1.5e-12, 2), (2.5e-12, 2), (3.5e-12, 4)):
        (row, _), _ = _both(*next(_llm_spans(_request({**_CALL, "gen_ai.usage.cost": amount}))))
        assert row[32:34] == (stored, stored)  # other, total


@pytest.mark.parametrize(("gap", "other"), [(5e-10, 0), (1e-9, 0), (2e-9, 2000), (-2e-9, 0)])
def test_a_total_within_a_nano_dollar_of_its_parts_is_their_sum(gap, other):
    """A reported total that differs from its parts by float round-off (≤ 1e-9 USD) is their sum; a larger gap is
    kept as "other" cost; a total below its parts is their sum."""
    parts = {"llmledger.cost.input": 0.001, "llmledger.cost.output": 0.002}
    (row, _), (expected, _) = _both(*next(_llm_spans(_request({**_CALL, **parts, "gen_ai.usage.cost": 0.003 + gap}))))
    assert row == expected
    assert row[32:34] == (other, 3_000_000_000 + other)


@pytest.mark.parametrize("amount", ["0.25", 1.234567890123456e-05, 2e6])
def test_reported_amounts_c_cannot_read_exactly_go_to_python(amount):
    called = []

    def counting(found):
        called.append(found)
        return build_rows._reported_columns(found)

    build_rows.configure_native(counting)
    try:
        _built_in_c({**_CALL, "gen_ai.usage.cost": amount})
    finally:
        build_rows.configure_native()
    assert called


def test_a_tiered_price_is_built_in_c_on_both_sides_of_its_tier():
    for input_tokens in (128_000, 128_001, 2_000_000):
        gemini = {**_CALL, "gen_ai.provider.name": "gcp.gemini", "gen_ai.request.model": "gemini-1.5-pro",
                  "gen_ai.response.model": "gemini-1.5-pro", "gen_ai.usage.input_tokens": input_tokens}  # fmt: skip
        assert _built_in_c(gemini)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_spans(), min_size=1, max_size=8))
def test_generated_spans_are_built_in_c_as_in_python_or_left_to_it(spans):
    body = generated_request(spans)
    _assert_alike_or_left(body)
    _assert_alike_or_left(body, AttributeSelection(frozenset({"team", "server.address"})))


# Attribute dicts as any reader may hand them over (the Python reader keeps bytes and lists of any scalar), with
# the values that sit on the edges of C's rules: bools among ints, -0.0, NaN, 2⁶³ - 1, numbers in strings.
_ODD = st.one_of(
    st.sampled_from([None, True, False, 0, -1, 2**63 - 1, -(2**63), 0.0, -0.0, float("nan"), float("inf")]),
    st.sampled_from(["", "12", " 7 ", "true", "chat", "invoke_agent", "LLM", "llm", "CHAIN", "openai", "gpt-4o"]),
    st.sampled_from([5e-13, 1.5e-12, 0.1, 123456.789, 999999.9999999, 1e6, 1.234567890123456e-05]),
    st.sampled_from([b"bytes", [], ["a"], [""], [1, 2], [None]]),
    st.integers(-10, 2**33),
    st.floats(),
)


@functools.cache
def _benchmark_spans() -> list[tuple[Any, Any, Any]]:
    from benchmarks.collector_ingest import build_requests

    bodies = build_requests(512) + build_requests(512, reported_costs=True)
    return [read for body in bodies for read in _llm_spans(body)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_any_attribute_values_are_built_in_c_as_in_python_or_left_to_it(data):
    span, found, resource = data.draw(st.sampled_from(_benchmark_spans()))
    keys = sorted(names.READ)
    found = {**found, **data.draw(st.dictionaries(st.sampled_from(keys), _ODD, max_size=4))}
    if not is_llm_call(found):
        assert _both(span, found, resource)[0][0] is None
        return
    (fast, fast_used), (slow, slow_used) = _both(span, found, resource)
    assert fast is None or (fast, fast_used) == (slow, slow_used)


def test_a_new_configuration_releases_what_the_old_one_held():
    def reader(found):
        return build_rows._reported_columns(found)

    build_rows.configure_native(reader)
    held = weakref.ref(reader)
    del reader
    build_rows.configure_native()
    gc.collect()
    assert held() is None


def test_a_refused_configuration_leaves_the_running_one_as_it_was(monkeypatch):
    given: dict[str, Any] = {}
    assert _rows is not None
    build_rows.configure_native()  # the running configuration
    fake = SimpleNamespace(configure=lambda **names: given.update(names), row=_rows.row)
    monkeypatch.setattr(build_rows, "_build_rows", fake)
    build_rows.configure_native()
    monkeypatch.undo()
    with pytest.raises(ValueError, match="five cost kinds"):
        _rows.configure(**{**given, "max_tokens": 0, "cost_names": given["cost_names"][:4]})
    assert _built_in_c(_CALL)  # its token counts still within the limit it had
