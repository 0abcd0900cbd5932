# SPDX-License-Identifier: Apache-2.0
"""Putting USD on an extracted call: the span's own cost when it reports one, else our price, else none.

A cost on the span is kept as it is: it is what the application saw. `cost_source` names who computed it: the
`provider` when the span says so (`gen_ai.usage.cost.source = provider`, e.g. OpenRouter's `usage.cost`), else the
`instrumentation` that made the span (llmledger's in the application, OpenLIT, OpenInference…). Its breakdown is
taken where the convention gives one (ours, OpenInference); a total without a breakdown lands in `other_cost`.
Without a cost on the span the `collector` prices the call with `cost.price_of` and `compute`, the functions the
instrumentation uses. No price → `unpriced` with zero costs, never a silent $0 that reads as "free". Cache
savings are what the same usage would have cost without the cache, minus what it cost, whenever a price for the
model is known.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from llmledger._core.cost import Cost, compute, price_of
from llmledger._core.prices import ModelPrice, price_period
from llmledger._core.usage import Usage

from ..llm_calls import CostSource, LlmCall
from . import conventions as names
from .values import money, text

_ZERO = Decimal(0)
_TOLERANCE = Decimal("1e-9")  # float round-off between a reported total and its reported parts


PriceCache = dict[tuple[str, str, str, int], ModelPrice | None]
_COST_KEYS = frozenset(
    (
        *names.COST_TOTAL,
        *names.COST_INPUT,
        *names.COST_CACHE_READ,
        *names.COST_CACHE_WRITE,
        *names.COST_OUTPUT,
        *names.COST_PROMPT,
    )
)


def apply_cost(
    call: LlmCall,
    found: Mapping[str, Any],
    usage: Usage,
    prices_used: dict[str, ModelPrice],
    cache: PriceCache | None = None,
) -> None:
    """Fill `call`'s cost fields; record any price used in `prices_used` (by id). `cache`: price lookups of
    the calls extracted so far (one per request), so a request of 512 calls to one model looks up once."""
    if cache is None:
        cache = {}
    if _apply_reported(call, found):
        if call.cache_read_input_tokens or call.cache_creation_input_tokens:
            ours = _price_of(call, usage, cache)
            if ours is not None:
                call.cache_savings = _savings(ours.price, usage, ours.total)
        return
    if usage.is_empty and call.status_code != "Error":
        call.usage_complete = False
        return  # nothing to price: unpriced, flagged incomplete
    cost = _price_of(call, usage, cache)
    if cost is None:
        return
    price = cost.price
    call.input_cost = cost.input
    call.cache_read_cost = cost.cache_read
    call.cache_write_cost = cost.cache_write
    call.output_cost = cost.output
    call.total_cost = cost.total
    call.priced_model = price.model
    call.price_id = price.id
    call.cost_source = "collector"
    if call.cache_read_input_tokens or call.cache_creation_input_tokens:
        call.cache_savings = _savings(price, usage, call.total_cost)
    if price.id:
        prices_used[price.id] = price


Reported = tuple[Decimal, Decimal, Decimal, Decimal, Decimal, Decimal]


def reported(found: Mapping[str, Any]) -> Reported | None:
    """The cost the span reports, as (input, cache read, cache write, output, other, total) in USD; None when it
    reports none. The one rule for reported costs: `_apply_reported` and the column path both use it."""
    if _COST_KEYS.isdisjoint(found):
        return None
    total = money(found, names.COST_TOTAL)
    parts = [
        money(found, names.COST_INPUT),
        money(found, names.COST_CACHE_READ),
        money(found, names.COST_CACHE_WRITE),
        money(found, names.COST_OUTPUT),
    ]
    if total is None and all(part is None for part in parts):
        return None
    if parts[0] is None:  # OpenInference gives all prompt cost; uncached input is the rest of it
        prompt = money(found, names.COST_PROMPT)
        if prompt is not None:
            parts[0] = max(prompt - (parts[1] or _ZERO) - (parts[2] or _ZERO), _ZERO)
    input_cost, cache_read, cache_write, output = (part or _ZERO for part in parts)
    parts_sum = input_cost + cache_read + cache_write + output
    if total is None or abs(total - parts_sum) <= _TOLERANCE or total < parts_sum:
        total = parts_sum if any(part is not None for part in parts) else (total or _ZERO)
    return input_cost, cache_read, cache_write, output, total - parts_sum, total


def reported_source(found: Mapping[str, Any]) -> CostSource:
    """Who computed the cost a span reports: the provider when the span says so, else its instrumentation."""
    return "provider" if found.get(names.COST_SOURCE) == names.COST_SOURCE_PROVIDER else "instrumentation"


def _apply_reported(call: LlmCall, found: Mapping[str, Any]) -> bool:
    costs = reported(found)
    if costs is None:
        return False
    (call.input_cost, call.cache_read_cost, call.cache_write_cost, call.output_cost, call.other_cost,
     call.total_cost) = costs  # fmt: skip
    call.cost_source = reported_source(found)
    call.currency = text(found, (names.COST_CURRENCY,)) or "USD"
    call.priced_model = text(found, (names.PRICED_MODEL,))
    return True


def _price_of(call: LlmCall, usage: Usage, cache: PriceCache) -> Cost | None:
    price = price_for(call.provider, call.response_model, call.request_model, call.timestamp_ns, cache)
    return None if price is None else compute(price, usage)


def price_for(
    provider: str, response_model: str, request_model: str, timestamp_ns: int, cache: PriceCache
) -> ModelPrice | None:
    """`cost.price_of`'s rule (response model, else request model; the price at the instant the call started),
    lookups cached by the period of that instant (`prices.price_period`: no price changes within one)."""
    key = (provider, response_model, request_model, price_period(timestamp_ns))
    try:
        return cache[key]
    except KeyError:
        pass
    price = cache[key] = price_of(provider, response_model, request_model, timestamp_ns)
    return price


def _savings(price: ModelPrice, usage: Usage, actual: Decimal) -> Decimal:
    uncached = compute(price, Usage(input_tokens=usage.input_tokens, output_tokens=usage.output_tokens))
    return uncached.total - actual
