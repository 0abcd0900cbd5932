# SPDX-License-Identifier: Apache-2.0
"""Cost of one call: a pure function of usage and a price, in Decimal so that sums stay exact to the cent.

The same function prices spans in the application and in the collector, so the two never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from . import prices
from .prices import ModelPrice, Rate, Tiered
from .usage import Usage

_PER_TOKEN = Decimal("1E-6")  # prices are per million tokens; scaling by a power of ten is exact
_ZERO = Decimal(0)
_BILLED_AS_REQUESTED = "aws.bedrock"  # the provider that bills by the requested model id


@dataclass(slots=True)
class Cost:
    """USD by token kind. `input` is uncached input only; the four parts add up to `total`."""

    input: Decimal
    cache_read: Decimal
    cache_write: Decimal
    output: Decimal
    price: ModelPrice

    @property
    def total(self) -> Decimal:
        return self.input + self.cache_read + self.cache_write + self.output


def compute(price: ModelPrice, usage: Usage) -> Cost:
    """Price `usage` with `price`.

    Cache reads and writes are carved out of the inclusive input count and priced at their own rates,
    falling back to the input rate where a model has none (a provider that does not discount caching).
    A whole-request tier is chosen by the total input, as providers bill long-context requests.
    """
    total_input = usage.input_tokens or 0
    cache_read = usage.cache_read_tokens or 0
    cache_write = usage.cache_write_tokens or 0
    cache_write_1h = min(usage.cache_write_1h_tokens or 0, cache_write)
    uncached = max(total_input - cache_read - cache_write, 0)

    input_rate = _at(price.input, total_input)
    write_rate = _at(price.cache_write, total_input, input_rate) if cache_write else _ZERO
    return Cost(
        input=uncached * input_rate * _PER_TOKEN,
        cache_read=cache_read * _at(price.cache_read, total_input, input_rate) * _PER_TOKEN if cache_read else _ZERO,
        cache_write=(
            (
                (cache_write - cache_write_1h) * write_rate
                + cache_write_1h * _at(price.cache_write_1h, total_input, write_rate)
            )
            * _PER_TOKEN
            if cache_write
            else _ZERO
        ),
        output=(usage.output_tokens or 0) * _at(price.output, total_input) * _PER_TOKEN,
        price=price,
    )


def price_of(
    provider: str, model: str | None, fallback_model: str | None, unix_ns: int, variant: prices.Variant = ()
) -> ModelPrice | None:
    """The price a call is charged at: the response model's, else the request model's, at the instant the call
    started (`unix_ns`); None when neither is known.

    Amazon Bedrock is the exception: it bills by the model id or inference profile the request named, and the
    same model costs less through a `global.` profile than in a region, while a response names only the model
    (`claude-3-5-haiku-20241022`). So on Bedrock the request model is priced first.
    """
    candidates = (fallback_model, model) if provider == _BILLED_AS_REQUESTED else (model, fallback_model)
    for candidate in candidates:
        if candidate:
            price = prices.lookup_ns(provider, candidate, unix_ns, variant)
            if price is not None:
                return price
    return None


def same_all_day(provider: str, model: str | None, fallback_model: str | None, unix_ns: int) -> bool:
    """Whether `price_of` gives every call of the UTC day of `unix_ns` one price (or none): False on a day when a
    time-of-day price changes it (DeepSeek's off-peak hours), where a cache of prices by day would be wrong."""
    first, *rest = (price_of(provider, model, fallback_model, start) for start in prices.day_periods(unix_ns))
    return all((price and price.id) == (first and first.id) for price in rest)


def _at(rate: Rate | None, input_tokens: int, default: Decimal = _ZERO) -> Decimal:
    if rate is None:
        return default
    if rate.__class__ is Tiered:
        return rate.at(input_tokens)  # type: ignore[union-attr]
    return rate  # type: ignore[return-value]
