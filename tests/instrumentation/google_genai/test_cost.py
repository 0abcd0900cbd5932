# SPDX-License-Identifier: Apache-2.0
"""Costs of Gemini calls, as literal dollars worked out by hand from the published per-million prices.

Prices used (genai-prices snapshot, the same at the Gemini API and Vertex AI; USD per million tokens,
input / output / cache read): gemini-2.0-flash 0.10 / 0.40 · gemini-2.5-flash 0.30 / 2.50 ·
gemini-3.5-flash 1.50 / 9.00 · gemini-2.5-pro up to 200k input tokens 1.25 / 10 / 0.125, above 200k
2.50 / 15 / 0.25 for the whole request. Thinking tokens are output tokens and pay the output price.
"""

from __future__ import annotations

import copy
import json

import pytest

from tests.cassette_replay import interactions
from tests.instrumentation.cost_parts import cost_parts
from tests.instrumentation.google_genai.sdk_calls import call, only_interaction, serve

G = "google_genai/openinference/google-genai"
VERTEX_PRO = ("google_vertexai/otel-contrib/vertexai/test_generate_content.yaml", 0)  # 5 in, 5 out, 294 thoughts

RECORDED = [
    # gemini-2.0-flash: 45 × 0.10 + 23 × 0.40 = 13.7 µUSD
    (f"{G}/test_instrumentation/test_generate_content.yaml", 0, 0.0000137, 0.0000045),
    # thinking, gemini-2.5-flash: 5 × 0.30 + (877 + 1,058 thoughts) × 2.50 = 4,839 µUSD
    (
        "google_genai/openllmetry/google-generativeai/test_generate_content/test_client_spans.yaml",
        0,
        0.004839,
        0.0000015,
    ),
    # streamed thinking, gemini-3.5-flash: 11 × 1.50 + (703 + 713) × 9 = 12,760.5 µUSD
    (f"{G}/test_instrumentation/test_streaming_reasoning.yaml", 0, 0.0127605, 0.0000165),
    # Vertex AI, gemini-2.5-pro below the long-context threshold: 5 × 1.25 + (5 + 294) × 10 = 2,996.25 µUSD
    (*VERTEX_PRO, 0.00299625, 0.00000625),
    # interactions API, gemini-2.5-flash: 9 × 0.30 + (13 + 211 thoughts) × 2.50 = 562.7 µUSD
    (f"{G}/test_interactions_sdk_inputs/test_interactions_create.yaml", 0, 0.0005627, 0.0000027),
]


def _assert_cost(attrs, total, uncached_input, cache_read=0.0):
    assert attrs["gen_ai.usage.cost"] == pytest.approx(total, rel=1e-12, abs=1e-15)
    assert attrs["gen_ai.usage.cost.source"] == "local"
    parts = cost_parts(attrs)
    assert parts["input"] == pytest.approx(uncached_input, rel=1e-12, abs=1e-15)
    assert parts["cache_read"] == pytest.approx(cache_read, rel=1e-12, abs=1e-15)
    assert sum(parts.values()) == pytest.approx(total, rel=1e-12)
    assert "llmledger.cost.unpriced" not in attrs


@pytest.mark.parametrize(("file", "index", "total", "uncached_input"), RECORDED)
def test_cost_of_a_recorded_call_in_usd(file, index, total, uncached_input, instrumented, span_exporter, tmp_path):
    with only_interaction(file, index, tmp_path) as row:
        call(row, interactions(file)[index])

    (span,) = span_exporter.get_finished_spans()
    _assert_cost(span.attributes, total, uncached_input)


def test_creating_a_cache_costs_its_tokens_at_the_input_price(instrumented, span_exporter, tmp_path):
    # gemini-2.5-flash: 1,090 tokens cached × 0.30 = 327 µUSD, all of it the cache write (the input is all cached;
    # genai-prices has no separate write price for Gemini, so the input price applies, as Google bills it).
    file = f"{G}/test_cache_create_instrumentation/test_create_cache.yaml"
    with only_interaction(file, 0, tmp_path) as row:
        call(row, interactions(file)[0])

    (span,) = span_exporter.get_finished_spans()
    attrs = span.attributes
    assert span.name == "create_cached_content gemini-2.5-flash"
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.cache_creation.input_tokens"]) == (1090, 1090)
    assert "gen_ai.usage.output_tokens" not in attrs
    _assert_cost(attrs, 0.000327, 0.0)
    assert cost_parts(attrs)["cache_write"] == pytest.approx(0.000327, rel=1e-12)


def _with_usage(**usage):
    """The recorded Vertex AI gemini-2.5-pro answer, with other usage counts."""
    interaction = copy.deepcopy(interactions(VERTEX_PRO[0])[VERTEX_PRO[1]])
    body = json.loads(interaction["response"]["body"]["string"])
    body["usageMetadata"].update(usage)
    interaction["response"]["body"]["string"] = json.dumps(body)
    return interaction


@pytest.mark.parametrize(
    ("prompt", "cached", "total", "uncached_input", "cache_read"),
    [
        # at the threshold: 200,000 × 1.25 + 299 × 10 = 252,990 µUSD
        (200_000, 0, 0.25299, 0.25, 0.0),
        # one token above it, every token at the higher price: 200,001 × 2.50 + 299 × 15 = 504,487.5 µUSD
        (200_001, 0, 0.5044875, 0.5000025, 0.0),
        # above it with cache reads: 200,000 × 2.50 + 50,000 × 0.25 + 299 × 15 = 516,985 µUSD
        (250_000, 50_000, 0.516985, 0.5, 0.0125),
    ],
)
def test_long_context_prices_the_whole_request(
    prompt, cached, total, uncached_input, cache_read, instrumented, span_exporter, tmp_path
):
    usage = {"promptTokenCount": prompt}
    if cached:
        usage["cachedContentTokenCount"] = cached
    interaction = _with_usage(**usage)
    row = {"file": VERTEX_PRO[0], "endpoint": "generateContent"}
    with serve([interaction], tmp_path):
        call(row, interaction)

    (span,) = span_exporter.get_finished_spans()
    attrs = span.attributes
    assert attrs["gen_ai.usage.input_tokens"] == prompt
    assert attrs["gen_ai.usage.output_tokens"] == 299
    _assert_cost(attrs, total, uncached_input, cache_read)


def test_tool_use_prompt_tokens_are_input(instrumented, span_exporter, tmp_path):
    interaction = _with_usage(toolUsePromptTokenCount=100)
    with serve([interaction], tmp_path):
        call({"file": VERTEX_PRO[0], "endpoint": "generateContent"}, interaction)

    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["gen_ai.usage.input_tokens"] == 105
    _assert_cost(span.attributes, 0.00312125, 0.00013125)  # 105 × 1.25 + 299 × 10 = 3,121.25 µUSD


def test_an_unknown_model_is_unpriced_never_zero(instrumented, span_exporter, tmp_path):
    interaction = copy.deepcopy(interactions(VERTEX_PRO[0])[VERTEX_PRO[1]])
    interaction["request"]["uri"] = interaction["request"]["uri"].replace("gemini-2.5-pro", "gemini-99-experimental")
    body = json.loads(interaction["response"]["body"]["string"])
    body["modelVersion"] = "gemini-99-experimental"
    interaction["response"]["body"]["string"] = json.dumps(body)
    with serve([interaction], tmp_path):
        call({"file": VERTEX_PRO[0], "endpoint": "generateContent"}, interaction)

    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["gen_ai.usage.input_tokens"] == 5
    assert span.attributes["llmledger.cost.unpriced"] is True
    assert not any(key.startswith("gen_ai.usage.cost") for key in span.attributes)
