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
from tests.instrumentation.anthropic.transport import CACHE_WRITE, MESSAGES, THINKING, recorded_json

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
    assert attrs["llmledger.cost.input"] == pytest.approx(uncached_input, rel=1e-12, abs=1e-15)
    assert attrs["llmledger.cost.cache_read"] == pytest.approx(cache_read, rel=1e-12, abs=1e-15)
    assert attrs["llmledger.cost.cache_write"] == pytest.approx(cache_write, rel=1e-12, abs=1e-15)
    parts = sum(attrs[f"llmledger.cost.{k}"] for k in ("input", "cache_read", "cache_write", "output"))
    assert parts == pytest.approx(total, rel=1e-12)


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
