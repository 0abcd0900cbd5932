# SPDX-License-Identifier: Apache-2.0
"""Cost arithmetic: exact Decimal dollars from usage and per-million prices, tiers and cache kinds included."""

from __future__ import annotations

from decimal import Decimal

from llmledger._core.cost import compute
from llmledger._core.prices import ModelPrice, Tiered
from llmledger._core.usage import Usage

D = Decimal
SONNET = ModelPrice(
    "anthropic",
    "claude-sonnet-4",
    input=D(3),
    output=D(15),
    cache_read=D("0.3"),
    cache_write=D("3.75"),
    cache_write_1h=D(6),
)


def test_cache_reads_and_writes_are_carved_out_of_inclusive_input():
    usage = Usage(input_tokens=10_000, output_tokens=1_000, cache_read_tokens=6_000, cache_write_tokens=2_000)
    cost = compute(SONNET, usage)

    assert cost.input == D("0.006")  # 2,000 uncached × $3/M
    assert cost.cache_read == D("0.0018")  # 6,000 × $0.30/M
    assert cost.cache_write == D("0.0075")  # 2,000 × $3.75/M (five-minute writes)
    assert cost.output == D("0.015")
    assert cost.total == D("0.0303")


def test_one_hour_cache_writes_pay_their_own_price():
    usage = Usage(input_tokens=3_000, output_tokens=0, cache_write_tokens=3_000, cache_write_1h_tokens=1_000)
    assert compute(SONNET, usage).cache_write == D("0.0135")  # 2,000 × 3.75 + 1,000 × 6, per million


def test_a_whole_request_tier_applies_to_every_token():
    gemini = ModelPrice(
        "google",
        "gemini-2.5-pro",
        input=Tiered(D("1.25"), ((200_000, D("2.5")),)),
        output=Tiered(D(10), ((200_000, D(15)),)),
    )
    below = compute(gemini, Usage(input_tokens=200_000, output_tokens=1_000))
    above = compute(gemini, Usage(input_tokens=200_001, output_tokens=1_000))

    assert below.total == D("0.26")  # 200,000 × 1.25 + 1,000 × 10
    assert above.total == D("0.5150025")  # 200,001 × 2.5 + 1,000 × 15


def test_missing_cache_prices_fall_back_to_the_input_price():
    plain = ModelPrice("x", "y", input=D(1), output=D(2))
    cost = compute(plain, Usage(input_tokens=1_000, cache_read_tokens=400, output_tokens=0))
    assert cost.total == D("0.001")


def test_unknown_counts_cost_nothing_rather_than_guessing():
    assert compute(SONNET, Usage(output_tokens=10)).total == D("0.00015")
