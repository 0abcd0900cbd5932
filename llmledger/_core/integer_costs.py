# SPDX-License-Identifier: Apache-2.0
"""Costs as integers of 10⁻¹² USD, computed without `Decimal` whenever that is exact.

A price per million tokens with at most six decimals is an exact whole number of 10⁻¹² USD per token, so a
cost is tokens × that integer: exactly what `cost.compute` gives in `Decimal`, for a ninth of the CPU. Both
sides use it on every call: the collector stores costs as Decimal(18, 12), which it carries as integers of
10⁻¹² USD in its call columns; the instrumentation turns them into the span's float attributes (an integer
below 2⁵³ divided by 10¹², one correctly rounded division, is the same double as the float of the Decimal).
`IntegerPrice.of` returns None for any price with a rate that is not such an integer (more decimals, absurdly
large): those calls keep the `Decimal` path. Rates are worked out once per price and tier with `cost`'s own
rule for which rate applies (`_at`: tiers by total input, cache rates falling back to the input rate).
"""

from __future__ import annotations

from bisect import bisect_left
from decimal import Decimal

from .cost import _at
from .prices import ModelPrice, Tiered

# Rates up to 10⁹ USD per million tokens: times a UInt32 token count, far inside Decimal's 28 digits, so the
# Decimal path is exact too and the two agree to the last unit.
_MAX_RATE = 10**15
Rates = tuple[int, int, int, int, int]  # input, cache read, cache write, one-hour cache write, output: 10⁻¹² USD/token
Costs = tuple[int, int, int, int, int, int]  # input, cache read, cache write, output, total, cache savings


def per_token(rate: Decimal) -> int | None:
    """USD per million tokens as an integer of 10⁻¹² USD per token; None when that is not exact."""
    if not rate.is_finite():
        return None
    scaled = rate.scaleb(6)
    if scaled != scaled.to_integral_value():
        return None
    whole = int(scaled)
    return whole if -_MAX_RATE < whole < _MAX_RATE else None


class IntegerPrice:
    """A `ModelPrice`'s rates as integers, per tier of total input."""

    __slots__ = ("_rates", "_starts", "price")

    def __init__(self, price: ModelPrice, starts: tuple[int, ...], rates: tuple[Rates, ...]) -> None:
        self.price = price
        self._starts = starts
        self._rates = rates

    @classmethod
    def of(cls, price: ModelPrice) -> IntegerPrice | None:
        """`price` in integers, or None when one of its rates is not an exact integer of 10⁻¹² USD per token."""
        kinds = (price.input, price.output, price.cache_read, price.cache_write, price.cache_write_1h)
        starts = tuple(sorted({start for rate in kinds if isinstance(rate, Tiered) for start, _ in rate.tiers}))
        # A tier applies once the input exceeds its start: one representative input count per position in `starts`.
        samples = (starts[0] if starts else 0, *(start + 1 for start in starts))
        table = []
        for input_tokens in samples:
            rates = _integers(_decimal_rates(price, input_tokens))
            if rates is None:
                return None
            table.append(rates)
        return cls(price, starts, tuple(table))

    @property
    def tiers(self) -> tuple[tuple[int, ...], tuple[Rates, ...]]:
        """(the input counts past which a tier applies, the rates of each tier): what `rates` picks from, for the
        collector's row builder in C (`collector/extract/_rows.c`)."""
        return self._starts, self._rates

    def rates(self, input_tokens: int) -> Rates:
        """The rates a call with `input_tokens` of input (cache included) pays."""
        return self._rates[bisect_left(self._starts, input_tokens) if self._starts else 0]

    def costs(
        self, input_tokens: int, output_tokens: int, cache_read: int, cache_write: int, cache_write_1h: int
    ) -> Costs:
        """`cost.compute` (and the collector's cache savings) in integers of 10⁻¹² USD, for non-negative counts."""
        input_rate, read_rate, write_rate, write_1h_rate, output_rate = self.rates(input_tokens)
        one_hour = min(cache_write_1h, cache_write)
        input_cost = max(input_tokens - cache_read - cache_write, 0) * input_rate
        read_cost = cache_read * read_rate
        write_cost = (cache_write - one_hour) * write_rate + one_hour * write_1h_rate
        output_cost = output_tokens * output_rate
        total = input_cost + read_cost + write_cost + output_cost
        savings = input_tokens * input_rate + output_cost - total if cache_read or cache_write else 0
        return input_cost, read_cost, write_cost, output_cost, total, savings


_OF_PRICE: dict[int, tuple[ModelPrice, IntegerPrice | None]] = {}
_OF_PRICE_LIMIT = 4096  # as many prices as `prices` keeps looked up


def integer_price(price: ModelPrice) -> IntegerPrice | None:
    """`IntegerPrice.of(price)`, worked out once per price object (lookups hand back the same object)."""
    entry = _OF_PRICE.get(id(price))
    if entry is not None and entry[0] is price:
        return entry[1]
    integers = IntegerPrice.of(price)
    if len(_OF_PRICE) >= _OF_PRICE_LIMIT:
        _OF_PRICE.clear()
    _OF_PRICE[id(price)] = (price, integers)  # the price is held, so its id is not reused while here
    return integers


def _decimal_rates(price: ModelPrice, input_tokens: int) -> tuple[Decimal, ...]:
    input_rate = _at(price.input, input_tokens)
    write_rate = _at(price.cache_write, input_tokens, input_rate)
    return (
        input_rate,
        _at(price.cache_read, input_tokens, input_rate),
        write_rate,
        _at(price.cache_write_1h, input_tokens, write_rate),
        _at(price.output, input_tokens),
    )


def _integers(rates: tuple[Decimal, ...]) -> Rates | None:
    integers = tuple(map(per_token, rates))
    if None in integers:
        return None
    return integers  # type: ignore[return-value]


__all__ = ["Costs", "IntegerPrice", "Rates", "integer_price", "per_token"]
