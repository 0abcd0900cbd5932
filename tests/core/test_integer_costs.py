# SPDX-License-Identifier: Apache-2.0
"""Integer pricing: for every token price genai-prices knows, and any price an override file can give, a cost
in integers of 10⁻¹² USD is exactly what `cost.compute` gives in Decimal once `records` scales it, or the price
is left to the Decimal path."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from genai_prices import data_snapshot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmledger._core import prices
from llmledger._core.cost import compute
from llmledger._core.integer_costs import IntegerPrice, per_token
from llmledger._core.prices import ModelPrice, Tiered
from llmledger._core.usage import Usage
from llmledger.collector.extract.costs import _savings
from llmledger.collector.llm_calls import LlmCall, scaled_costs

_WHEN = datetime(2026, 1, 15, 12, tzinfo=UTC)
_MAX_TOKENS = 2**32 - 1
_SETTINGS = settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _snapshot_prices() -> list[ModelPrice]:
    """Every model's token price in the genai-prices snapshot, as `prices` builds a ModelPrice from it."""
    found = []
    for provider in data_snapshot.get_snapshot().providers:
        for model in provider.models:
            rates = model.get_prices(_WHEN)
            input_rate = prices._rate(getattr(rates, "input_mtok", None))
            output_rate = prices._rate(getattr(rates, "output_mtok", None))
            if input_rate is None and output_rate is None:
                continue
            found.append(
                ModelPrice(
                    provider.id,
                    model.id,
                    input_rate if input_rate is not None else Decimal(0),
                    output_rate if output_rate is not None else Decimal(0),
                    prices._rate(getattr(rates, "cache_read_mtok", None)),
                    prices._rate(getattr(rates, "cache_write_mtok", None)),
                    prices._rate(getattr(rates, "cache_write_1h_mtok", None)),
                )
            )
    return found


SNAPSHOT = _snapshot_prices()


def _expected(price: ModelPrice, usage: Usage) -> tuple[int, ...] | None:
    """What the Decimal path stores: `compute`, cache savings as `costs` works them out, scaled by `records`;
    None when `records` refuses a cost (a million USD or more)."""
    cost = compute(price, usage)
    savings = _savings(price, usage, cost.total) if usage.cache_read_tokens or usage.cache_write_tokens else 0
    amounts = [cost.input, cost.cache_read, cost.cache_write, cost.output, cost.total, Decimal(savings)]
    try:
        return tuple(scaled_costs(amounts, "cost", [LlmCall(0, "t", "s")] * len(amounts)))
    except ValueError:
        return None


def _integer(price: IntegerPrice, usage: Usage) -> tuple[int, ...] | None:
    """The integer path, None where it hands the call to the Decimal path (a cost `records` cannot hold)."""
    costs = _integer_costs(price, usage)
    return costs if max(map(abs, costs)) < 10**18 else None


def _integer_costs(price: IntegerPrice, usage: Usage) -> tuple[int, ...]:
    return price.costs(
        usage.input_tokens or 0,
        usage.output_tokens or 0,
        usage.cache_read_tokens or 0,
        usage.cache_write_tokens or 0,
        usage.cache_write_1h_tokens or 0,
    )


_counts = st.one_of(st.none(), st.integers(0, 10), st.integers(0, 300_000), st.integers(0, _MAX_TOKENS))


@st.composite
def usages(draw: st.DrawFn) -> Usage:
    """Counts as extraction gives them: input inclusive of its cache subsets, output of reasoning."""
    cache_read, cache_write, one_hour = draw(_counts), draw(_counts), draw(_counts)
    input_tokens = draw(_counts)
    if input_tokens is not None:
        input_tokens = min(max(input_tokens, (cache_read or 0) + (cache_write or 0)), _MAX_TOKENS)
    return Usage(input_tokens, draw(_counts), cache_read, cache_write, one_hour, draw(_counts))


def test_nearly_every_snapshot_price_is_an_integer_price_and_the_rest_keep_the_decimal_path():
    integer = [price for price in SNAPSHOT if IntegerPrice.of(price) is not None]
    assert len(SNAPSHOT) > 1000
    assert len(integer) / len(SNAPSHOT) > 0.95
    for price in SNAPSHOT:
        if IntegerPrice.of(price) is None:  # e.g. 0.18000000000000002 per million: not whole 10⁻¹² USD per token
            rates = [price.input, price.output, price.cache_read, price.cache_write, price.cache_write_1h]
            flat = [r for rate in rates if rate is not None for r in _decimals(rate)]
            assert any(per_token(rate) is None for rate in flat)


def _decimals(rate: Decimal | Tiered) -> list[Decimal]:
    return [rate.base, *(tier for _, tier in rate.tiers)] if isinstance(rate, Tiered) else [rate]


@pytest.mark.parametrize("usage", [Usage(), Usage(1, 1), Usage(1000, 200, 400), Usage(5000, 10, 0, 3000, 1000, 5)])
def test_every_snapshot_price_gives_the_decimal_cost_for_typical_usages(usage):
    for price in SNAPSHOT:
        integer = IntegerPrice.of(price)
        if integer is not None:
            assert _integer(integer, usage) == _expected(price, usage), price


@_SETTINGS
@given(st.sampled_from(SNAPSHOT), usages())
def test_any_usage_at_any_snapshot_price_costs_exactly_what_the_decimal_path_stores(price, usage):
    integer = IntegerPrice.of(price)
    if integer is not None:
        assert _integer(integer, usage) == _expected(price, usage)


def test_tiers_are_chosen_by_total_input_at_their_exact_boundaries():
    tiered = [price for price in SNAPSHOT if any(isinstance(rate, Tiered) for rate in (price.input, price.output))]
    assert tiered
    for price in tiered:
        integer = IntegerPrice.of(price)
        assert integer is not None
        starts = {s for rate in (price.input, price.output) if isinstance(rate, Tiered) for s, _ in rate.tiers}
        for start in starts:
            for input_tokens in (start - 1, start, start + 1):
                usage = Usage(max(input_tokens, 0), 7, max(input_tokens, 0) // 3)
                assert _integer(integer, usage) == _expected(price, usage)


_rates = st.decimals(min_value=0, max_value=10**6, places=None, allow_nan=False, allow_infinity=False).map(
    lambda rate: Decimal(str(rate))
)
_file_rates = st.one_of(
    _rates, st.integers(0, 10**5).map(Decimal), st.floats(0, 1000).map(lambda rate: Decimal(str(rate)))
)  # what an override file's YAML or JSON numbers become: Decimal(str(value))


@st.composite
def override_prices(draw: st.DrawFn) -> ModelPrice:
    def rate(optional: bool) -> Decimal | Tiered | None:
        if optional and draw(st.booleans()):
            return None
        if draw(st.integers(0, 4)) == 0:
            starts = sorted(set(draw(st.lists(st.integers(0, 500_000), min_size=1, max_size=3))))
            return Tiered(draw(_file_rates), tuple((start, draw(_file_rates)) for start in starts))
        return draw(_file_rates)

    return ModelPrice("*", "m*", rate(False), rate(False), rate(True), rate(True), rate(True), source="override")  # type: ignore[arg-type]


@_SETTINGS
@given(override_prices(), usages())
def test_override_file_prices_cost_exactly_what_the_decimal_path_stores_or_are_left_to_it(price, usage):
    integer = IntegerPrice.of(price)
    if integer is None:
        flat = [r for rate in (price.input, price.output, price.cache_read, price.cache_write, price.cache_write_1h)
                if rate is not None for r in _decimals(rate)]  # fmt: skip
        assert any(per_token(rate) is None for rate in flat)
    else:
        assert _integer(integer, usage) == _expected(price, usage)


def test_a_rate_is_an_integer_of_ten_to_the_minus_twelve_usd_per_token_only_when_exact():
    assert per_token(Decimal("0.15")) == 150_000
    assert per_token(Decimal("2.500000")) == 2_500_000
    assert per_token(Decimal("0.000001")) == 1
    assert per_token(Decimal("0.0000001")) is None
    assert per_token(Decimal("0.18000000000000002")) is None
    assert per_token(Decimal("Infinity")) is None
    assert per_token(Decimal(10**9)) is None  # too large to be sure Decimal's 28 digits stay exact
