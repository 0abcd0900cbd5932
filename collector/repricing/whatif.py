# SPDX-License-Identifier: Apache-2.0
"""What a period would have cost had some models' calls gone to other models: history re-costed token for token.

Each call of a swapped model keeps its tokens (input, cache reads and writes, output) and is costed as the other
model prices them at the call's instant: its rates, its cache rates (the input rate where it has none), its
long-context tiers. Every other call keeps its stored cost. Swapping a model for itself costs its calls again by
the collector's own rule (response model, else request model, at the call's instant), so for calls the collector
priced it gives exactly the stored spend; where it does not, the stored cost came from elsewhere (a provider's
bill, another price table) and the difference is that.

A call the other model has no price for keeps its stored cost and is counted (`no_target_price`); a swapped call
whose own cost is unknown (`unpriced`) is counted too, since its saving cannot be told.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from clickhouse_connect.driver.client import Client

from llmledger._core.prices import is_provider

from ..exporters.clickhouse.client import translate_errors
from ..exporters.clickhouse.errors import BadQuery
from ..exporters.clickhouse.migrations import quote_identifier
from ..extract.costs import PriceCache, price_for
from ..llm_calls import COST_SCALE
from . import _recost
from ._recost import Tokens

# --by → the llm_calls column it groups by.
DIMENSIONS = {
    "model": "Model",
    "provider": "Provider",
    "service": "ServiceName",
    "feature": "Feature",
    "user": "UserId",
    "tenant": "Tenant",
}


@dataclass(frozen=True, slots=True)
class Swap:
    """Calls to `source` (a model as llm_calls groups it, any case) costed as `target` at `provider` (the call's
    own provider when None)."""

    source: str
    target: str
    provider: str | None = None

    @classmethod
    def parse(cls, text: str) -> Swap:
        """`gpt-4o=gpt-4o-mini`, or `claude-sonnet-4=openai:gpt-4o` for a model at another provider."""
        source, equals, target = text.partition("=")
        source, target = source.strip(), target.strip()
        if not equals or not source or not target:
            raise BadQuery(f"--swap {text!r}: expected MODEL=OTHER_MODEL, e.g. gpt-4o=gpt-4o-mini")
        provider, colon, model = target.partition(":")
        if colon and is_provider(provider) and model:
            return cls(source, model, provider)
        return cls(source, target)


@dataclass(slots=True)
class Line:
    """One group's calls, how many were swapped, and their spend actual and hypothetical (10⁻¹² USD)."""

    key: str
    calls: int = 0
    swapped: int = 0
    actual: int = 0
    hypothetical: int = 0

    @property
    def actual_usd(self) -> Decimal:
        return Decimal(self.actual).scaleb(-COST_SCALE)

    @property
    def hypothetical_usd(self) -> Decimal:
        return Decimal(self.hypothetical).scaleb(-COST_SCALE)

    @property
    def saving_usd(self) -> Decimal:
        return Decimal(self.actual - self.hypothetical).scaleb(-COST_SCALE)


@dataclass(slots=True)
class WhatIf:
    by: str
    lines: list[Line] = field(default_factory=list)
    total: Line = field(default_factory=lambda: Line("total"))
    no_target_price: int = 0  # swapped calls the other model has no price for: kept at their stored cost
    unpriced: int = 0  # swapped calls whose own cost is unknown (stored as 0)


def what_if(
    client: Client,
    swaps: Sequence[Swap],
    since_ns: int,
    until_ns: int,
    *,
    by: str = "model",
    database: str | None = None,
) -> WhatIf:
    """Spend of the calls started in [since, until), by `by`, actual and with `swaps` applied."""
    if by not in DIMENSIONS:
        raise BadQuery(f"cannot group by {by!r}: one of {', '.join(DIMENSIONS)}")
    by_source = {swap.source.lower(): swap for swap in swaps}
    if len(by_source) != len(swaps):
        raise BadQuery("a model is swapped twice: give each model one --swap")
    table = f"{quote_identifier(database)}.llm_calls" if database else "llm_calls"
    column = DIMENSIONS[by]
    window = {"since": since_ns, "until": until_ns, "sources": sorted(by_source)}
    where = "Timestamp >= fromUnixTimestamp64Nano({since:Int64}) AND Timestamp < fromUnixTimestamp64Nano({until:Int64})"
    with translate_errors():
        groups = client.query(
            f"SELECT toString({column}) AS key, count(), sum(TotalCost) FROM {table} FINAL WHERE {where} "
            "GROUP BY key ORDER BY key",
            parameters=window,
        ).result_rows
        swapped = client.query(
            f"""
            SELECT toString({column}) AS key, Provider, Model, RequestModel, ResponseModel,
                   toUnixTimestamp64Nano(Timestamp) AS TimestampNs, InputTokens, OutputTokens,
                   CacheReadInputTokens, CacheCreationInputTokens, TotalCost, CostSource, UsageComplete
            FROM {table} FINAL
            WHERE {where} AND lower(Model) IN {{sources:Array(String)}}
            """,
            parameters=window,
        ).named_results()
        lines = {key: Line(key, int(calls), 0, _units(total), _units(total)) for key, calls, total in groups}
        result = WhatIf(by)
        cache: PriceCache = {}
        for row in swapped:
            _recost_call(row, by_source[row["Model"].lower()], lines[row["key"]], result, cache)
    result.lines = sorted(lines.values(), key=lambda line: (-line.actual, line.key))
    for line in result.lines:
        result.total.calls += line.calls
        result.total.swapped += line.swapped
        result.total.actual += line.actual
        result.total.hypothetical += line.hypothetical
    return result


def _recost_call(row: dict[str, Any], swap: Swap, line: Line, result: WhatIf, cache: PriceCache) -> None:
    line.swapped += 1
    if row["CostSource"] == "unpriced":
        result.unpriced += 1
    if not row["UsageComplete"]:
        return  # no tokens to cost: as it was
    provider, at = swap.provider or row["Provider"], row["TimestampNs"]
    if swap.provider is None and swap.target.lower() == row["Model"].lower():
        price = price_for(provider, row["ResponseModel"], row["RequestModel"], at, cache)  # the call's own rule
    else:
        price = price_for(provider, swap.target, "", at, cache)
    if price is None:
        result.no_target_price += 1
        return
    tokens = Tokens(
        row["InputTokens"], row["OutputTokens"], row["CacheReadInputTokens"], row["CacheCreationInputTokens"]
    )
    line.hypothetical += _recost.costs(price, tokens)[4] - _units(row["TotalCost"])


def _units(value: Any) -> int:
    return int(Decimal(value).scaleb(COST_SCALE))
