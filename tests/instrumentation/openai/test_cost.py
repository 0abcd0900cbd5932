# SPDX-License-Identifier: Apache-2.0
"""Costs of recorded calls, as literal dollars worked out by hand from the published per-million prices.

Prices used (USD per million tokens; input / cached input / output):
gpt-4o-mini 0.15 / 0.075 / 0.60 · gpt-5-nano 0.05 / 0.005 / 0.40 · gpt-4.1-nano 0.10 / 0.025 / 0.40 ·
text-embedding-ada-002 0.10 · llama3-8b-8192 on Groq 0.05 / 0.08 · gpt-3.5-turbo on Azure 0.50 / 1.50 ·
davinci-002 2.00 / 2.00 · Mixtral-8x7B-Instruct on Together 0.90 / 0.90 · gpt-4.1-mini on Azure 0.40 / 1.60.
"""

from __future__ import annotations

import pytest

from tests.cassette_replay import interactions
from tests.instrumentation.cost_parts import cost_parts
from tests.instrumentation.openai.sdk_calls import call, only_interaction

OPENAI = "openai/openllmetry/openai/traces"

CASES = [
    # cached input: 125 uncached × 0.15 + 1024 cached × 0.075 + 353 out × 0.60 = 307.35 µUSD
    (f"{OPENAI}/test_prompt_caching/test_openai_prompt_caching.yaml", 1, 0.00030735, 0.00001875, 0.0000768),
    # reasoning inside output: 11 × 0.05 + 228 × 0.40 (192 of them reasoning) = 91.75 µUSD
    (f"{OPENAI}/test_chat/test_chat_reasoning.yaml", 0, 0.00009175, 0.00000055, 0.0),
    # embeddings: 8 × 0.10 = 0.8 µUSD
    (f"{OPENAI}/test_embeddings/test_embeddings.yaml", 0, 0.0000008, 0.0000008, 0.0),
    # Responses API: 14 × 0.10 + 8 × 0.40 = 4.6 µUSD
    (f"{OPENAI}/test_responses/test_responses.yaml", 0, 0.0000046, 0.0000014, 0.0),
    # Responses API with reasoning: 11 × 0.05 + 327 × 0.40 = 131.35 µUSD
    (f"{OPENAI}/test_responses/test_responses_reasoning.yaml", 0, 0.00013135, 0.00000055, 0.0),
    # streamed Responses API: 18 × 0.10 + 79 × 0.40 = 33.4 µUSD
    (f"{OPENAI}/test_responses/test_responses_streaming.yaml", 0, 0.0000334, 0.0000018, 0.0),
    # Groq by base URL: 18 × 0.05 + 43 × 0.08 = 4.34 µUSD
    ("groq/openllmetry/groq/traces/test_chat_tracing/test_chat_legacy.yaml", 0, 0.00000434, 0.0000009, 0.0),
    # Azure, priced by the response's model (gpt-35-turbo), not the deployment: 15 × 0.50 + 24 × 1.50 = 43.5 µUSD
    ("azure_openai/openllmetry/openai/traces/test_azure/test_chat.yaml", 0, 0.0000435, 0.0000075, 0.0),
    # Azure gpt-4.1-mini: 16 × 0.40 + 22 × 1.60 = 41.6 µUSD
    ("azure_openai/openllmetry/openai/traces/test_azure/test_chat.yaml", 1, 0.0000416, 0.0000064, 0.0),
    # legacy completions; the response model (a fine-tune) is unknown, so the request model prices it:
    # 8 × 2.00 + 16 × 2.00 = 48 µUSD
    (f"{OPENAI}/test_completions/test_completion.yaml", 1, 0.000048, 0.000016, 0.0),
    # Together: 18 × 0.90 + 35 × 0.90 = 47.7 µUSD
    ("together/openllmetry/together/test_chat/test_together_chat_legacy.yaml", 0, 0.0000477, 0.0000162, 0.0),
]


@pytest.mark.parametrize(("file", "index", "total", "uncached_input", "cache_read"), CASES)
def test_cost_of_a_recorded_call_in_usd(
    file, index, total, uncached_input, cache_read, instrumented, span_exporter, tmp_path
):
    with only_interaction(file, index, tmp_path) as row:
        call(row, interactions(file)[index])

    (span,) = span_exporter.get_finished_spans()
    attrs = span.attributes
    assert attrs["gen_ai.usage.cost"] == pytest.approx(total, rel=1e-12, abs=1e-15)
    assert attrs["gen_ai.usage.cost.amount"] == attrs["gen_ai.usage.cost"]
    assert attrs["gen_ai.usage.cost.currency"] == "USD"
    assert attrs["gen_ai.usage.cost.source"] == "local"
    parts = cost_parts(attrs)
    assert parts["input"] == pytest.approx(uncached_input, rel=1e-12, abs=1e-15)
    assert parts["cache_read"] == pytest.approx(cache_read, rel=1e-12, abs=1e-15)
    assert "llmledger.cost.cache_write" not in attrs  # OpenAI reports no cache writes: no $0 part for them
    assert sum(parts.values()) == pytest.approx(total, rel=1e-12)
    assert attrs["llmledger.price.source"] == "genai-prices"
    assert attrs["llmledger.price.version"].startswith("genai-prices ")
    assert "llmledger.cost.unpriced" not in attrs


def test_a_model_nobody_prices_is_flagged_unpriced_never_zero(instrumented, span_exporter, tmp_path):
    file = "vllm/openllmetry/openai/traces/test_chat/test_chat_context_propagation.yaml"
    with only_interaction(file, 0, tmp_path) as row:
        call(row, interactions(file)[0])

    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["gen_ai.provider.name"] == "vllm"
    assert span.attributes["gen_ai.usage.input_tokens"] == 43
    assert span.attributes["llmledger.cost.unpriced"] is True
    assert not any(key.startswith("gen_ai.usage.cost") for key in span.attributes)


@pytest.mark.parametrize(
    ("tier", "total", "variant"),
    [
        # flex is billed at half: 11 × 0.025 + 228 × 0.20 = 45.875 µUSD
        ("flex", 0.000045875, "service_tier=flex"),
        # default is the standard price: 11 × 0.05 + 228 × 0.40 = 91.75 µUSD
        ("default", 0.00009175, None),
    ],
)
def test_the_service_tier_the_response_reports_sets_the_price(tier, total, variant, instrumented, span_exporter):
    import json

    from tests.instrumentation.openai import transport

    body = transport.recorded_json(f"{OPENAI}/test_chat/test_chat_reasoning.yaml", 0)
    body["service_tier"] = tier
    client = transport.client(lambda request: transport.http.Response(200, content=json.dumps(body).encode()))
    client.chat.completions.create(model="gpt-5-nano", messages=[{"role": "user", "content": "hi"}], service_tier=tier)

    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["openai.response.service_tier"] == tier
    assert span.attributes["gen_ai.usage.cost"] == pytest.approx(total, rel=1e-12)
    assert span.attributes.get("llmledger.price.variant") == variant
