# SPDX-License-Identifier: Apache-2.0
"""The worst case a budget reserves: never less than what the provider then counts, on recorded traffic."""

from __future__ import annotations

from decimal import Decimal

import pytest

from llmledger.instrumentation._shared.invocation import Request
from llmledger.instrumentation.budgets._estimate import (
    CALL_TOKENS,
    DEFAULT_OUTPUT_TOKENS,
    IMAGE_TOKENS,
    TOOLS_TOKENS,
    input_tokens,
    worst_case,
)
from tests.cassette_replay import expected, interactions, request_json

NOW_NS = 1_767_225_600 * 10**9  # 2026-01-01
GPT_4O = (Decimal("2.5"), Decimal("10"))  # USD per million input / output tokens (genai-prices)


def chat(**attributes) -> Request:
    return Request("chat", "gpt-4o", attributes={f"gen_ai.request.{k}": v for k, v in attributes.items()})


def cost(input_tokens: int, output_tokens: int) -> Decimal:
    return (input_tokens * GPT_4O[0] + output_tokens * GPT_4O[1]) / 1_000_000


def test_output_is_max_tokens_times_choices_or_the_default():
    arguments = {"messages": [{"role": "user", "content": "hi"}]}
    tokens_in = input_tokens(arguments)
    assert worst_case("openai", chat(max_tokens=100), arguments, NOW_NS, 4096) == cost(tokens_in, 100)
    assert worst_case("openai", chat(max_tokens=100, **{"choice.count": 3}), arguments, NOW_NS, 4096) == cost(
        tokens_in, 300
    )
    assert worst_case("openai", chat(), arguments, NOW_NS, DEFAULT_OUTPUT_TOKENS) == cost(tokens_in, 4096)


def test_embeddings_have_no_output_and_token_counting_is_free():
    arguments = {"input": "hello world"}
    embed = Request("embeddings", "text-embedding-3-small")
    assert worst_case("openai", embed, arguments, NOW_NS, 4096) == Decimal("0.02") * input_tokens(arguments) / 10**6
    assert worst_case("anthropic", Request("count_tokens", "claude-sonnet-4-5"), arguments, NOW_NS, 4096) == 0


def test_an_unknown_model_has_no_estimate():
    assert worst_case("openai", Request("chat", "my-own-model"), {}, NOW_NS, 4096) is None
    assert worst_case("openai", Request("chat", None), {}, NOW_NS, 4096) is None


def test_three_bytes_per_token_plus_allowances_for_tools_and_images():
    text = {"messages": [{"role": "user", "content": "x" * 297}]}
    size = len('{"messages": [{"role": "user", "content": ""}]}') + 297
    assert input_tokens(text) == -(-size // 3) + CALL_TOKENS
    with_tools = {**text, "tools": [{"type": "function", "function": {"name": "f"}}]}
    assert input_tokens(with_tools) - input_tokens(text) > TOOLS_TOKENS
    image = {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
    with_image = {"messages": [{"role": "user", "content": [image, image]}]}
    assert input_tokens(with_image) > 2 * IMAGE_TOKENS
    assert input_tokens({"contents": [{"inline_data": {"mime_type": "image/png", "data": "AAAA"}}]}) > IMAGE_TOKENS


def test_sdk_objects_are_sized_as_the_json_they_are_sent_as():
    from pydantic import BaseModel

    class Answer(BaseModel):
        joke: str
        rating: int

    schema_sized = input_tokens({"response_format": Answer})
    assert schema_sized > input_tokens({"response_format": "Answer"}) + 20  # the schema is sent, not the name
    assert input_tokens({"content": Answer(joke="j" * 300, rating=1)}) > 100
    assert input_tokens({"data": b"\0" * 3000}) >= 4000 // 3  # bytes travel base64-encoded


# Providers reached through the SDKs llmledger instruments (OpenAI-compatible hosts, Anthropic, Gemini).
_INSTRUMENTED = {
    "openai",
    "azure_openai",
    "groq",
    "deepseek",
    "together",
    "vllm",
    "ollama",
    "anthropic",
    "google_genai",
}


def _recorded_requests():
    for file, rows in expected().items():
        for row in rows:
            normalized = row.get("normalized") or {}
            if row["provider"] in _INSTRUMENTED and row["status"] == 200 and normalized.get("input_tokens"):
                yield file, row["interaction_index"], normalized["input_tokens"]


def test_the_input_estimate_covers_what_providers_counted_for_every_recorded_request():
    checked = under = 0
    for file, index, counted in _recorded_requests():
        try:
            arguments = request_json(interactions(file)[index])
        except ValueError:
            continue
        if not isinstance(arguments, dict) or not arguments:
            continue
        checked += 1
        if input_tokens(arguments) < counted:
            under += 1
            pytest.fail(f"{file}[{index}]: estimated {input_tokens(arguments)} < {counted} input tokens")
    assert checked > 150 and under == 0
