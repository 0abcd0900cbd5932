# SPDX-License-Identifier: Apache-2.0
"""A span's cost attributes are the doubles of the exact Decimal cost, whichever way they were computed."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmledger._core.cost import compute
from llmledger._core.prices import ModelPrice
from llmledger._core.usage import Usage
from llmledger.instrumentation._shared.invocation import _exact_floats
from tests.core.test_integer_costs import SNAPSHOT, usages

_SETTINGS = settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _decimal_path(price: ModelPrice, usage: Usage) -> tuple[float, float, float, float, float, Decimal]:
    cost = compute(price, usage)
    parts = (cost.input, cost.cache_read, cost.cache_write, cost.output, cost.total)
    return (*map(float, parts), cost.total)  # type: ignore[return-value]


def test_integer_prices_give_the_same_doubles_and_total_as_the_decimal_path_for_typical_usages():
    usage = Usage(input_tokens=12_000, output_tokens=700, cache_read_tokens=9_000, reasoning_tokens=300)
    exact = [price for price in SNAPSHOT if _exact_floats(price, usage) is not None]
    assert len(exact) > 0.9 * len(SNAPSHOT)  # nearly every price takes the integer path
    for price in exact:
        assert _exact_floats(price, usage) == _decimal_path(price, usage), price


@_SETTINGS
@given(price=st.sampled_from(SNAPSHOT), usage=usages())
def test_any_usage_at_any_price_gives_the_decimal_paths_doubles_or_is_left_to_it(price, usage):
    floats = _exact_floats(price, usage)
    if floats is not None:
        assert floats == _decimal_path(price, usage)


def test_a_price_with_more_than_six_decimals_per_million_is_left_to_the_decimal_path():
    price = ModelPrice("house", "m", input=Decimal("0.18000000000000002"), output=Decimal(1))
    assert _exact_floats(price, Usage(input_tokens=10, output_tokens=10)) is None
