# SPDX-License-Identifier: Apache-2.0
"""Costs of Bedrock calls, as literal dollars worked out by hand from the published per-million prices.

Prices used (genai-prices snapshot, Amazon Bedrock; USD per million tokens, input / output / cache read / cache
write / one-hour cache write): Claude 3.7 Sonnet and Claude 3.5 Sonnet in a region 3 / 15 / 0.30 / 3.75 ·
Claude 3.5 Haiku 0.80 / 4 / 0.08 / 1 · Claude Sonnet 4.5 through the global profile 3 / 15 / 0.30 / 3.75 / 6, in a
region (`us.`) 3.30 / 16.50 · Nova Micro 0.035 / 0.14 · Titan Text Express 0.20 / 0.60 · Llama 3 70B 2.65 / 3.50.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from tests.instrumentation.bedrock import event_frames
from tests.instrumentation.bedrock.sdk_calls import call, client, only_interaction
from tests.instrumentation.cost_parts import cost_parts
from tests.instrumentation.features import needs

B = "bedrock/openllmetry/bedrock"
C = "bedrock/otel-contrib/botocore"
CLAUDE_TOOLS = f"{C}/test_invoke_model_with_content_tool_call[anthropic.claude].yaml"

RECORDED = [
    # an ARN of the `us.` cross-region profile, priced as Claude 3.7 Sonnet: 20 × 3 + 72 × 15 = 1,140 µUSD
    (f"{B}/traces/test_anthropic/test_anthropic_cross_region.yaml", 0, 0.00114, 0.00006, 0.0, 0.0),
    # cache writes (headers): 4 uncached × 0.80 + 18,131 written × 1 + 50 out × 4 = 18,334.2 µUSD
    (f"{B}/metrics/test_bedrock_prompt_caching_metrics/test_prompt_cache.yaml", 0, 0.0183342, 0.0000032, 0.0, 0.018131),
    # cache reads: 4 × 0.80 + 18,131 read × 0.08 + 50 × 4 = 1,653.68 µUSD
    (
        f"{B}/metrics/test_bedrock_prompt_caching_metrics/test_prompt_cache.yaml",
        1,
        0.00165368,
        0.0000032,
        0.00145048,
        0.0,
    ),
    # a stream through the `us.` profile whose invocation metrics (90 out) win over Claude's message_delta (134):
    # 392 × 3 + 90 × 15 = 2,526 µUSD
    (
        f"{C}/test_invoke_model_with_response_stream_with_content_tool_call[anthropic.claude].yaml",
        0,
        0.002526,
        0.001176,
        0.0,
        0.0,
    ),
    # Nova Micro, streamed: 427 × 0.035 + 156 × 0.14 = 36.785 µUSD
    (
        f"{C}/test_invoke_model_with_response_stream_with_content_tool_call[amazon.nova].yaml",
        0,
        0.000036785,
        0.000014945,
        0.0,
        0.0,
    ),
    # Titan Text Express, counts from the headers: 9 × 0.20 + 17 × 0.60 = 12 µUSD
    (f"{B}/metrics/test_bedrock_metrics/test_invoke_model_metrics.yaml", 0, 0.000012, 0.0000018, 0.0, 0.0),
    # Llama 3 70B: 8 × 2.65 + 35 × 3.50 = 143.7 µUSD
    (f"{B}/traces/test_meta/test_meta_llama3_completion.yaml", 0, 0.0001437, 0.0000212, 0.0, 0.0),
]


def _assert_cost(attrs, total, uncached_input, cache_read, cache_write):
    assert attrs["gen_ai.usage.cost"] == pytest.approx(total, rel=1e-12, abs=1e-15)
    assert attrs["gen_ai.usage.cost.source"] == "local"
    parts = cost_parts(attrs)
    assert parts["input"] == pytest.approx(uncached_input, rel=1e-12, abs=1e-15)
    assert parts["cache_read"] == pytest.approx(cache_read, rel=1e-12, abs=1e-15)
    assert parts["cache_write"] == pytest.approx(cache_write, rel=1e-12, abs=1e-15)
    assert sum(parts.values()) == pytest.approx(total, rel=1e-12)


@pytest.mark.parametrize(("file", "index", "total", "uncached_input", "cache_read", "cache_write"), RECORDED)
def test_cost_of_a_recorded_call_in_usd(
    file, index, total, uncached_input, cache_read, cache_write, instrumented, span_exporter, tmp_path
):
    with only_interaction(file, index, tmp_path) as interaction:
        call(interaction)

    (span,) = span_exporter.get_finished_spans()
    _assert_cost(span.attributes, total, uncached_input, cache_read, cache_write)


def _url(model_id: str, operation: str) -> str:
    """The URL botocore sends a call of `model_id` to (the id percent-encoded, `:` included)."""
    return f"https://bedrock-runtime.us-east-1.amazonaws.com/model/{quote(model_id, safe='')}/{operation}"


def _as_model(model_id: str, response_model: str):
    """An edit of CLAUDE_TOOLS's first call (392 in / 135 out in its headers) into a call of `model_id`."""

    def edit(interaction):
        interaction["request"]["uri"] = _url(model_id, "invoke")
        body = json.loads(interaction["response"]["body"]["string"])
        body["model"] = response_model
        interaction["response"]["body"]["string"] = json.dumps(body)

    return edit


@pytest.mark.parametrize(
    ("model_id", "total"),
    [
        # the global profile is priced apart: 392 × 3 + 135 × 15 = 3,201 µUSD
        ("global.anthropic.claude-sonnet-4-5-20250929-v1:0", 0.003201),
        # the same model in a region: 392 × 3.30 + 135 × 16.50 = 3,521.1 µUSD
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", 0.0035211),
    ],
)
def test_a_call_is_priced_by_the_profile_it_named_not_by_the_model_its_response_names(
    model_id, total, instrumented, span_exporter, tmp_path
):
    with only_interaction(CLAUDE_TOOLS, 0, tmp_path, _as_model(model_id, "claude-sonnet-4-5-20250929")) as interaction:
        call(interaction)

    (span,) = span_exporter.get_finished_spans()
    attrs = span.attributes
    assert attrs["gen_ai.request.model"] == model_id
    assert attrs["gen_ai.response.model"] == "claude-sonnet-4-5-20250929"  # which, alone, is the regional price
    assert attrs["llmledger.price.model"] == model_id.replace("us.", "regional.")
    assert attrs["gen_ai.usage.cost"] == pytest.approx(total, rel=1e-12)


def test_a_profile_genai_prices_does_not_list_is_priced_as_its_model(instrumented, span_exporter, tmp_path):
    """genai-prices lists `openai.gpt-5.4` on Bedrock but no `us.` profile of it: 392 × 2.75 + 135 × 16.50."""
    with only_interaction(CLAUDE_TOOLS, 0, tmp_path, _as_model("us.openai.gpt-5.4", "gpt-5.4")) as interaction:
        call(interaction)

    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["llmledger.price.model"] == "openai.gpt-5.4"
    assert span.attributes["gen_ai.usage.cost"] == pytest.approx(0.0033055, rel=1e-12)  # 1,078 + 2,227.5 µUSD


def test_one_hour_cache_writes_in_converse_usage_pay_their_own_price(instrumented, span_exporter, tmp_path):
    """The recorded cross-region Converse call, answered by Claude Sonnet 4.5 (global profile) with 1,500 cache
    writes, 1,000 of them for an hour (`cacheDetails`)."""
    file = f"{B}/traces/test_anthropic/test_anthropic_cross_region.yaml"
    model = "global.anthropic.claude-sonnet-4-5-20250929-v1:0"

    def edit(interaction):
        interaction["request"]["uri"] = _url(model, "converse")
        body = json.loads(interaction["response"]["body"]["string"])
        body["usage"].update(
            cacheWriteInputTokens=1500,
            cacheDetails=[{"ttl": "5m", "inputTokens": 500}, {"ttl": "1h", "inputTokens": 1000}],
        )
        interaction["response"]["body"]["string"] = json.dumps(body)

    with only_interaction(file, 0, tmp_path, edit) as interaction:
        call(interaction)

    (span,) = span_exporter.get_finished_spans()
    attrs = span.attributes
    assert attrs["gen_ai.usage.input_tokens"] == 20 + 1500
    assert attrs["gen_ai.usage.cache_creation.input_tokens"] == 1500
    assert attrs["llmledger.usage.cache_creation_1h.input_tokens"] == 1000
    # 20 × 3 + 500 × 3.75 + 1,000 × 6 + 72 × 15 = 60 + 1,875 + 6,000 + 1,080 = 9,015 µUSD
    _assert_cost(attrs, 0.009015, 0.00006, 0.0, 0.007875)


def test_a_model_without_a_price_is_flagged_unpriced_never_free(instrumented, span_exporter, tmp_path):
    with only_interaction(f"{C}/test_invoke_model_with_content[anthropic.claude].yaml", 0, tmp_path) as interaction:
        call(interaction)  # anthropic.claude-v2: retired, so genai-prices has no price for it

    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["gen_ai.usage.input_tokens"] == 14
    assert span.attributes["llmledger.cost.unpriced"] is True
    assert "gen_ai.usage.cost" not in span.attributes


@pytest.mark.parametrize(
    "file", [f"{C}/test_converse_with_content.yaml", f"{C}/test_converse_stream_with_content.yaml"]
)
def test_a_service_tier_is_recorded_and_priced_at_the_standard_rate_while_genai_prices_has_no_bedrock_tiers(
    file, instrumented, span_exporter, tmp_path
):
    """Titan Text Lite, 8 in / 10 out, asked and served on the flex tier: 8 × 0.15 + 10 × 0.20 = 3.2 µUSD."""

    def served_flex(interaction):
        body = interaction["response"]["body"]["string"]
        if isinstance(body, bytes):  # an event stream: the tier comes in its metadata event
            frames = event_frames.frames(body)
            metadata = json.loads(event_frames.payload(frames[-1]))
            metadata["serviceTier"] = {"type": "flex"}
            body = b"".join(frames[:-1]) + event_frames.event("metadata", json.dumps(metadata).encode())
        else:
            body = json.dumps({**json.loads(body), "serviceTier": {"type": "flex"}})
        interaction["response"]["body"]["string"] = body

    with only_interaction(file, 0, tmp_path, served_flex) as interaction:
        needs(client(), "converse")
        call(interaction, serviceTier={"type": "flex"})

    (span,) = span_exporter.get_finished_spans()
    attrs = span.attributes
    assert attrs["aws.bedrock.request.service_tier"] == "flex"
    assert attrs["aws.bedrock.response.service_tier"] == "flex"
    assert "llmledger.price.variant" not in attrs
    assert attrs["gen_ai.usage.cost"] == pytest.approx(3.2e-6, rel=1e-12)


def test_the_tier_a_response_streams_headers_name_is_recorded(instrumented, span_exporter, tmp_path):
    """An `InvokeModelWithResponseStream` says its tier in a header, not in its events."""
    file = f"{C}/test_invoke_model_with_response_stream_with_content[amazon.nova].yaml"

    def served_priority(interaction):
        interaction["response"]["headers"]["X-Amzn-Bedrock-Service-Tier"] = ["priority"]

    output = client().meta.service_model.operation_model("InvokeModelWithResponseStream").output_shape
    if "serviceTier" not in output.members:
        pytest.skip("this botocore release knows no Bedrock service tiers")
    with only_interaction(file, 0, tmp_path, served_priority) as interaction:
        result = call(interaction)

    assert result["serviceTier"] == "priority"
    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["aws.bedrock.response.service_tier"] == "priority"
    assert span.attributes["gen_ai.usage.cost"] == pytest.approx((5 * 0.035 + 10 * 0.14) / 1e6, rel=1e-12)
