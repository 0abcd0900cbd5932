# SPDX-License-Identifier: Apache-2.0
"""What-if: a model swapped for itself gives the actual spend to the last unit; a swap costs the same tokens at
the other model's rates, caching and tiers included."""

from __future__ import annotations

from decimal import Decimal
from time import time_ns

import pytest

from llmledger.collector.exporters.clickhouse.errors import BadQuery
from llmledger.collector.exporters.clickhouse.writer import insert_llm_calls
from llmledger.collector.llm_calls import LlmCall
from llmledger.collector.repricing import Swap, what_if

from .conftest import priced_calls

_HOUR = 3600 * 10**9


def _call(index: int, now: int, provider: str, model: str, **tokens: int) -> LlmCall:
    return LlmCall(
        timestamp_ns=now - (index + 1) * _HOUR - index * 7_919,
        trace_id=f"{index + 1:032x}",
        span_id=f"{index + 1:016x}",
        service_name=["support-bot", "search"][index % 2],
        feature=["answer", "summarize", "classify"][index % 3],
        user_id=f"user-{index % 4}",
        provider=provider,
        operation="chat",
        request_model=model,
        response_model=model,
        **tokens,
    )


@pytest.fixture
def history(client):
    """Calls of real models priced by the collector with genai-prices' bundled data, cache reads and writes and
    long prompts among them, and a model without a price."""
    client.command("TRUNCATE TABLE llm_calls")
    now = time_ns()
    models = [
        ("openai", "gpt-4o"),
        ("openai", "gpt-4o-2024-08-06"),
        ("openai", "gpt-4o-mini"),
        ("anthropic", "claude-sonnet-4-20250514"),
        ("anthropic", "claude-3-5-haiku-20241022"),
        ("vllm", "llama-local"),
    ]
    calls = []
    for index in range(36):
        provider, model = models[index % len(models)]
        input_tokens = 1_000 + 9_973 * index  # up to ~350k: past long-context tiers where a model has them
        calls.append(
            _call(
                index,
                now,
                provider,
                model,
                input_tokens=input_tokens,
                output_tokens=100 + 37 * index,
                cache_read_input_tokens=input_tokens // 3 if index % 3 == 0 else 0,
                cache_creation_input_tokens=input_tokens // 5 if index % 4 == 1 else 0,
            )
        )
    calls, used = priced_calls(calls)
    insert_llm_calls(client, calls, prices=used)
    return now


@pytest.mark.parametrize("by", ["model", "service", "feature", "user"])
def test_a_model_swapped_for_itself_costs_exactly_the_actual_spend(client, history, by):
    stored = client.query(
        "SELECT toString(Model), sum(TotalCost) FROM llm_calls FINAL GROUP BY Model ORDER BY Model"
    ).result_rows
    swaps = [Swap(model, model) for model, _ in stored]

    result = what_if(client, swaps, history - 48 * _HOUR, history, by=by)

    assert result.total.swapped == result.total.calls == 36
    assert result.total.actual_usd == sum((total for _, total in stored), Decimal(0))
    assert result.total.actual_usd > 0
    for line in (*result.lines, result.total):
        assert line.hypothetical == line.actual, line.key
        assert line.saving_usd == 0
    assert (result.no_target_price, result.unpriced) == (6, 6)  # llama-local: no price, then or now


def test_a_swap_costs_the_same_tokens_at_the_other_models_rates(client, price_file):
    client.command("TRUNCATE TABLE llm_calls")
    price_file(
        """
prices:
  - {provider: acme, model: acme-large, input: 5.00, output: 15.00, cache_read: 0.50, cache_write: 6.25}
  - {provider: acme, model: acme-small, input: 0.25, output: 1.25}
"""
    )
    now = time_ns()
    calls, used = priced_calls(
        [
            _call(
                0, now, "acme", "acme-large", input_tokens=10_000, output_tokens=1_000, cache_read_input_tokens=4_000
            ),
            _call(1, now, "acme", "acme-large", input_tokens=2_000, output_tokens=500),
            _call(2, now, "acme", "acme-small", input_tokens=1_000, output_tokens=100),
        ]
    )
    insert_llm_calls(client, calls, prices=used)

    result = what_if(client, [Swap.parse("acme-large=acme-small")], now - 10 * _HOUR, now, by="model")

    # Actual: 6,000 × 5 + 4,000 × 0.50 + 1,000 × 15 = $0.047 and 2,000 × 5 + 500 × 15 = $0.0175 (per million);
    # acme-small's own call 1,000 × 0.25 + 100 × 1.25 = $0.000375. As acme-small, which has no cache rate (cache
    # reads pay its input rate): 10,000 × 0.25 + 1,000 × 1.25 = $0.00375 and 2,000 × 0.25 + 500 × 1.25 = $0.001125.
    lines = {line.key: line for line in result.lines}
    assert (lines["acme-large"].actual_usd, lines["acme-large"].hypothetical_usd) == (
        Decimal("0.0645"),
        Decimal("0.004875"),
    )
    assert lines["acme-large"].saving_usd == Decimal("0.059625")
    assert lines["acme-small"].hypothetical_usd == lines["acme-small"].actual_usd == Decimal("0.000375")
    assert (result.total.calls, result.total.swapped) == (3, 2)


def test_a_swap_names_a_model_and_the_model_it_becomes():
    assert Swap.parse("gpt-4o=gpt-4o-mini") == Swap("gpt-4o", "gpt-4o-mini")
    assert Swap.parse("claude-sonnet-4=openai:gpt-4o") == Swap("claude-sonnet-4", "gpt-4o", "openai")
    # A colon that does not follow a provider belongs to the model (Bedrock ids end in `:0`).
    assert Swap.parse("a=anthropic.claude-3-5-haiku-20241022-v1:0").target == "anthropic.claude-3-5-haiku-20241022-v1:0"
    with pytest.raises(BadQuery, match="expected MODEL=OTHER_MODEL"):
        Swap.parse("gpt-4o")
