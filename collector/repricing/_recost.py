# SPDX-License-Identifier: Apache-2.0
"""A stored call's tokens priced again: the collector's own arithmetic, on what `llm_calls` keeps of a call.

Costs come out as integers of 10⁻¹² USD, exactly what the Decimal(18, 12) columns hold and what the collector's
row builder stores (`integer_costs`; `cost.compute` rounded half-even per column where a rate is not a whole
number of 10⁻¹² USD per token). Cache savings follow the collector's rule: what the input would have cost
uncached, minus what it cost, for calls that read or wrote the cache.

What `llm_calls` does not keep cannot be priced again: the split of cache writes into five-minute and one-hour
ones, and the service tier a call was served on. `reproduces` tells whether a stored cost can be told from its
tokens and the price it was costed with; a call whose cost cannot is left as it is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from llmledger._core.cost import compute
from llmledger._core.integer_costs import integer_price
from llmledger._core.prices import ModelPrice, Rate, Tiered
from llmledger._core.usage import Usage

from ..llm_calls import scaled_cost

Costs = tuple[int, int, int, int, int, int]  # input, cache read, cache write, output, total, cache savings (10⁻¹² USD)


@dataclass(frozen=True, slots=True)
class Tokens:
    """What `llm_calls` keeps of a call's usage (input includes cache reads and writes)."""

    input: int
    output: int
    cache_read: int
    cache_write: int

    @property
    def cached(self) -> bool:
        return bool(self.cache_read or self.cache_write)


def costs(price: ModelPrice, tokens: Tokens) -> Costs:
    """`tokens` at `price`, as the collector would have stored them."""
    integers = integer_price(price)
    if integers is not None:
        input_cost, read, write, output, total, savings = integers.costs(
            tokens.input, tokens.output, tokens.cache_read, tokens.cache_write, 0
        )
        return input_cost, read, write, output, total, savings if tokens.cached else 0
    cost = compute(price, Usage(tokens.input, tokens.output, tokens.cache_read, tokens.cache_write))
    uncached = compute(price, Usage(tokens.input, tokens.output)).total if tokens.cached else cost.total
    return (
        scaled_cost(cost.input),
        scaled_cost(cost.cache_read),
        scaled_cost(cost.cache_write),
        scaled_cost(cost.output),
        scaled_cost(cost.total),
        scaled_cost(uncached - cost.total),
    )


def reproduces(price: ModelPrice, tokens: Tokens, stored_total: int) -> bool:
    """Whether `price` applied to `tokens` gives the total stored: when it does not, the call was costed on
    something `llm_calls` does not keep (one-hour cache writes, a service tier) and cannot be priced again."""
    return costs(price, tokens)[4] == stored_total


def one_hour_writes_differ(price: ModelPrice) -> bool:
    """Whether `price` charges one-hour cache writes otherwise than five-minute ones (Anthropic's), so a cost of
    cache writes cannot be told from the stored tokens alone."""
    return price.cache_write_1h is not None and price.cache_write_1h != price.cache_write


def stored_price(row: Mapping[str, Any]) -> ModelPrice:
    """A price as `llm_model_prices` holds it (rates per million tokens, tiers as JSON), back as a `ModelPrice`."""
    tiers: dict[str, Sequence[Sequence[Any]]] = json.loads(row["Tiers"]) if row.get("Tiers") else {}

    def rate(kind: str, column: str) -> Rate | None:
        base = row.get(column)
        if base is None:
            return None
        base = Decimal(base)
        if kind in tiers:
            return Tiered(base, tuple((int(start), Decimal(str(value))) for start, value in tiers[kind]))
        return base

    return ModelPrice(
        provider=str(row.get("Provider", "")),
        model=str(row.get("Model", "")),
        input=rate("input", "InputPerMTok") or Decimal(0),
        output=rate("output", "OutputPerMTok") or Decimal(0),
        cache_read=rate("cache_read", "CacheReadPerMTok"),
        cache_write=rate("cache_write", "CacheWritePerMTok"),
        cache_write_1h=rate("cache_write_1h", "CacheWrite1hPerMTok"),
        source=str(row.get("Source", "")),
        version=str(row.get("Version", "")),
        id=str(row.get("PriceId", "")),
    )


def same_rates(one: ModelPrice, other: ModelPrice) -> bool:
    """Whether two prices charge every token alike, wherever they came from."""
    return all(
        getattr(one, kind) == getattr(other, kind)
        for kind in ("input", "output", "cache_read", "cache_write", "cache_write_1h")
    )


def like_pattern(glob: str) -> str:
    """A model glob (`*` any run of characters, `?` one) as an ILIKE pattern, its `%`, `_` and `\\` escaped."""
    escaped = glob.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")
