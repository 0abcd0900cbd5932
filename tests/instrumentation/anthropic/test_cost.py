# SPDX-License-Identifier: Apache-2.0
"""Costs of Anthropic calls, as literal dollars worked out by hand from the published per-million prices.

Prices used (genai-prices snapshot; USD per million tokens, input / output / cache read / 5-minute cache write /
1-hour cache write): claude-3-5-sonnet 3 / 15 / 0.30 / 3.75 / 6 · claude-3-opus 15 / 75 ·
claude-3-5-haiku 0.80 / 4 · claude-3-7-sonnet 3 / 15 · claude-3-haiku on Amazon Bedrock 0.25 / 1.25 ·
claude-3-7-sonnet on Vertex AI 3 / 15.
"""

from __future__ import annotations

import copy

import pytest

from tests.cassette_replay import interactions
from tests.instrumentation.anthropic import transport
from tests.instrumentation.anthropic.sdk_calls import call, only_interaction
from tests.instrumentation.anthropic.transport import CACHE_WRITE, MESSAGES, STREAM, THINKING, recorded_json
from tests.instrumentation.cost_parts import cost_parts

A = "anthropic/openllmetry/anthropic"

RECORDED = [
    # five-minute cache writes: 4 uncached × 3 + 1,163 written × 3.75 + 187 out × 15 = 7,178.25 µUSD
    (f"{A}/test_prompt_caching/test_anthropic_prompt_caching_legacy.yaml", 0, 0.00717825, 0.000012, 0.0, 0.00436125),
    # cache reads: 4 × 3 + 1,163 read × 0.30 + 202 × 15 = 3,390.9 µUSD
    (f"{A}/test_prompt_caching/test_anthropic_prompt_caching_legacy.yaml", 1, 0.0033909, 0.000012, 0.0003489, 0.0),
    # streamed, cache writes from message_start: 4 × 3 + 1,165 × 3.75 + 201 × 15 = 7,395.75 µUSD
    (
        f"{A}/test_prompt_caching/test_anthropic_prompt_caching_stream_legacy.yaml",
        0,
        0.00739575,
        0.000012,
        0.0,
        0.00436875,
    ),
    # claude-3-opus: 17 × 15 + 220 × 75 = 16,755 µUSD
    (f"{A}/test_messages/test_anthropic_message_create_legacy.yaml", 0, 0.016755, 0.000255, 0.0, 0.0),
    # messages.stream() helper, claude-3-5-haiku: 17 × 0.80 + 108 × 4 = 445.6 µUSD
    (f"{A}/test_messages/test_anthropic_message_stream_manager_legacy.yaml", 0, 0.0004456, 0.0000136, 0.0, 0.0),
    # AnthropicBedrock, priced at Bedrock's claude-3-haiku: 17 × 0.25 + 50 × 1.25 = 66.75 µUSD
    (
        "bedrock/openllmetry/anthropic/test_bedrock_with_raw_response/test_async_anthropic_bedrock_regular_create.yaml",
        0,
        0.00006675,
        0.00000425,
        0.0,
        0.0,
    ),
]


def _assert_cost(attrs, total, uncached_input, cache_read, cache_write):
    assert attrs["gen_ai.usage.cost"] == pytest.approx(total, rel=1e-12, abs=1e-15)
    assert attrs["gen_ai.usage.cost.source"] == "local"
    assert attrs["gen_ai.usage.cost.currency"] == "USD"
    parts = cost_parts(attrs)
    assert parts["input"] == pytest.approx(uncached_input, rel=1e-12, abs=1e-15)
    assert parts["cache_read"] == pytest.approx(cache_read, rel=1e-12, abs=1e-15)
    assert parts["cache_write"] == pytest.approx(cache_write, rel=1e-12, abs=1e-15)
    assert sum(parts.values()) == pytest.approx(total, rel=1e-12)


@pytest.mark.parametrize(("file", "index", "total", "uncached_input", "cache_read", "cache_write"), RECORDED)
def test_cost_of_a_recorded_call_in_usd(
    file, index, total, uncached_input, cache_read, cache_write, instrumented, span_exporter, tmp_path
):
    with only_interaction(file, index, tmp_path) as row:
        call(row, interactions(file)[index])

    (span,) = span_exporter.get_finished_spans()
    _assert_cost(span.attributes, total, uncached_input, cache_read, cache_write)


def test_one_hour_cache_writes_pay_their_own_price(instrumented, span_exporter):
    """The recorded cache write, re-split by TTL: 163 tokens for five minutes, 1,000 for an hour."""
    body = copy.deepcopy(recorded_json(*CACHE_WRITE))
    body["usage"]["cache_creation"] = {"ephemeral_5m_input_tokens": 163, "ephemeral_1h_input_tokens": 1000}
    transport.client(transport.json_response(body)).messages.create(
        model="claude-3-5-sonnet-20240620", max_tokens=1024, messages=MESSAGES
    )

    (span,) = span_exporter.get_finished_spans()
    attrs = span.attributes
    assert attrs["gen_ai.usage.input_tokens"] == 4 + 1163
    assert attrs["gen_ai.usage.cache_creation.input_tokens"] == 1163
    assert attrs["llmledger.usage.cache_creation_1h.input_tokens"] == 1000
    # 4 × 3 + 163 × 3.75 + 1,000 × 6 + 187 × 15 = 12 + 611.25 + 6,000 + 2,805 = 9,428.25 µUSD
    _assert_cost(attrs, 0.00942825, 0.000012, 0.0, 0.00661125)


def test_thinking_tokens_are_reasoning_inside_the_output(instrumented, span_exporter):
    body = copy.deepcopy(recorded_json(*THINKING))
    body["usage"]["output_tokens_details"] = {"thinking_tokens": 150}
    transport.client(transport.json_response(body)).messages.create(
        model="claude-3-7-sonnet-20250219", max_tokens=2048, messages=MESSAGES
    )

    (span,) = span_exporter.get_finished_spans()
    attrs = span.attributes
    assert attrs["gen_ai.usage.output_tokens"] == 215
    assert attrs["gen_ai.usage.reasoning.output_tokens"] == 150
    # reasoning is output, priced once: 52 × 3 + 215 × 15 = 3,381 µUSD
    _assert_cost(attrs, 0.003381, 0.000156, 0.0, 0.0)


def test_vertex_ai_calls_are_priced_at_vertex_prices(instrumented, span_exporter):
    body = recorded_json(*THINKING)
    transport.vertex_client(transport.json_response(body)).messages.create(
        model="claude-3-7-sonnet@20250219", max_tokens=2048, messages=MESSAGES
    )

    (span,) = span_exporter.get_finished_spans()
    attrs = span.attributes
    assert attrs["gen_ai.provider.name"] == "gcp.vertex_ai"
    assert attrs["server.address"] == "us-east5-aiplatform.googleapis.com"
    assert attrs["llmledger.price.model"] == "claude-3-7-sonnet"
    _assert_cost(attrs, 0.003381, 0.000156, 0.0, 0.0)  # 52 × 3 + 215 × 15 = 3,381 µUSD


def test_an_unknown_model_is_unpriced_never_zero(instrumented, span_exporter):
    body = copy.deepcopy(recorded_json(*THINKING))
    body["model"] = "claude-99-experimental"
    transport.client(transport.json_response(body)).messages.create(
        model="claude-99-experimental", max_tokens=10, messages=MESSAGES
    )

    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["gen_ai.usage.input_tokens"] == 52
    assert span.attributes["llmledger.cost.unpriced"] is True
    assert not any(key.startswith("gen_ai.usage.cost") for key in span.attributes)


# The recorded cache write (4 uncached, 1,163 written for five minutes, 187 out), served as the model below with
# the usage fields saying how it was served. Prices (input / 5-minute write / output): claude-haiku-4-5
# 1 / 1.25 / 5, batch 0.5 / 0.625 / 2.5, no fast mode; claude-opus-4-8 5 / 6.25 / 25, fast 10 / 12.5 / 50.
SERVED = [
    # a Message Batches result is half price: 4 × 0.5 + 1,163 × 0.625 + 187 × 2.5 = 1,196.375 µUSD
    ("claude-haiku-4-5", {"service_tier": "batch"}, 0.001196375, 0.000002, 0.000726875, "processing=batch"),
    # standard: 4 × 1 + 1,163 × 1.25 + 187 × 5 = 2,392.75 µUSD
    ("claude-haiku-4-5", {"service_tier": "standard"}, 0.00239275, 0.000004, 0.00145375, None),
    # priority capacity is billed against a commitment, not a list price: the standard price, and the tier recorded
    ("claude-haiku-4-5", {"service_tier": "priority"}, 0.00239275, 0.000004, 0.00145375, None),
    # fast mode doubles every rate: 4 × 10 + 1,163 × 12.5 + 187 × 50 = 23,927.5 µUSD
    ("claude-opus-4-8", {"speed": "fast"}, 0.0239275, 0.00004, 0.0145375, "speed=fast"),
    # a model without fast prices keeps its standard price rather than an invented one
    ("claude-haiku-4-5", {"speed": "fast"}, 0.00239275, 0.000004, 0.00145375, None),
]


@pytest.mark.parametrize(("model", "served", "total", "uncached_input", "cache_write", "variant"), SERVED)
def test_how_the_call_was_served_sets_its_price(
    model, served, total, uncached_input, cache_write, variant, instrumented, span_exporter
):
    body = copy.deepcopy(recorded_json(*CACHE_WRITE))
    body["model"] = model
    body["usage"].update(served)
    transport.client(transport.json_response(body)).messages.create(model=model, max_tokens=1024, messages=MESSAGES)

    (span,) = span_exporter.get_finished_spans()
    attrs = span.attributes
    _assert_cost(attrs, total, uncached_input, 0.0, cache_write)
    assert attrs.get("llmledger.price.variant") == variant
    for field, value in served.items():
        key = "anthropic.response.service_tier" if field == "service_tier" else f"anthropic.response.{field}"
        assert attrs[key] == value


def test_a_fast_stream_is_priced_fast_from_its_message_start(instrumented, span_exporter):
    """Streams report how they are served in `message_start`; the final `message_delta` does not repeat it."""
    recorded = transport.recorded_body(*STREAM).decode()
    start = recorded.index('"usage":{') + len('"usage":{')
    body = (recorded[:start] + '"speed":"fast","inference_geo":"us",' + recorded[start:]).encode()
    body = body.replace(b"claude-3-5-haiku-20241022", b"claude-opus-4-8")
    client = transport.client(lambda request: transport.sse(body))
    with client.messages.stream(model="claude-opus-4-8", max_tokens=1024, messages=MESSAGES) as stream:
        stream.get_final_message()

    (span,) = span_exporter.get_finished_spans()
    attrs = span.attributes
    assert (attrs["anthropic.response.speed"], attrs["anthropic.response.inference_geo"]) == ("fast", "us")
    assert attrs["llmledger.price.variant"] == "speed=fast"
    # 17 in × 10 + 108 out × 50 = 5,570 µUSD (the standard price would be half)
    _assert_cost(attrs, 0.00557, 0.00017, 0.0, 0.0)
