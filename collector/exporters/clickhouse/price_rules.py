# SPDX-License-Identifier: Apache-2.0
"""The prices the SQL-only deployment prices calls with, inside ClickHouse, when a span carries no cost.

Without a llmledger process in the data path, the view of migration 0008 finds a call's price in two tables this
module fills (`llmledger schema apply --sql-only` calls `load`): `llm_model_prices`, one row per price as the
collector records them (same `PriceId`s), and `llm_price_rules`, one row per provider (as `gen_ai.provider.name`
spells it) listing genai-prices' model matching in its order, its fallback providers' models after its own, as
genai-prices looks them up. A model's match clause becomes rules of RE2 patterns that must all find the
lower-case model name and exclusions none of which may: equals, starts/ends with and contains become escaped
text, a regex stays as it is (a leading negative lookahead, which RE2 lacks, becomes an exclusion), `and` joins
the patterns of its parts, `or` gives a rule per part. A model whose clause has no such form, or a pattern
ClickHouse does not compile, is left out.

Prices are those in force when loaded (run the command again after a price refresh; the newest load wins).
What the view cannot match like the collector (override files, providers genai-prices does not name, Bedrock
profile ids, compact dated model names) is listed in docs/deployments.md.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from clickhouse_connect.driver.client import Client

from llmledger._core import price_data, prices
from llmledger._core.prices import ModelPrice

from .client import translate_errors
from .errors import ClickHouseError
from .migrations import quote_identifier
from .writer import record_prices

RULES_TABLE = "llm_price_rules"
_RE2_SPECIAL = re.compile(r"([\\.+*?()|\[\]{}^$])")
_LEADING_NEGATIVE_LOOKAHEAD = re.compile(r"^\^\(\?!(.*)\)$")
_LOOKAROUND = "(?=", "(?!", "(?<="
Rule = tuple[tuple[str, ...], tuple[str, ...], str]  # patterns that must all match, exclusions, price id


@dataclass(frozen=True, slots=True)
class PriceRules:
    """What `load` writes: every price by id, and each provider's ordered (pattern, price id) rules."""

    prices: dict[str, ModelPrice]
    rules: dict[str, list[Rule]]


def build(unix_ns: int | None = None) -> PriceRules:
    """The prices in force at `unix_ns` (default: now) of every model genai-prices lists, and the rules that
    find them, for every provider name the collector prices (`prices._GENAI_PRICES_PROVIDER`)."""
    unix_ns = time.time_ns() if unix_ns is None else unix_ns
    data = price_data.in_force()
    when = datetime.fromtimestamp(unix_ns / 1e9, UTC)
    by_id = {provider.id: provider for provider in data.snapshot.providers}
    found: dict[str, ModelPrice] = {}
    rules: dict[str, list[Rule]] = {}
    for name, provider_id in prices._GENAI_PRICES_PROVIDER.items():
        provider = by_id.get(provider_id or "")
        if provider is None:
            continue
        fallbacks = [by_id[p] for p in provider.fallback_model_providers or () if p in by_id]
        provider_rules = rules.setdefault(name, [])
        for source in (provider, *fallbacks):
            for info in source.models:
                alternatives = _alternatives(info.match)
                price = _price(provider.id, info, when, data.version)
                if alternatives is None or price is None:
                    continue
                found[price.id] = price
                provider_rules += [(patterns, excludes, price.id) for patterns, excludes in alternatives]
    return PriceRules(found, rules)


def load(client: Client, database: str, unix_ns: int | None = None) -> PriceRules:
    """Write `build(unix_ns)` into `database`'s llm_model_prices and llm_price_rules; what was written."""
    built = build(unix_ns)
    usable = _compiling(client, {p for rules in built.rules.values() for rule in rules for p in (*rule[0], *rule[1])})
    kept = {
        name: [rule for rule in rules if usable.issuperset((*rule[0], *rule[1]))]
        for name, rules in sorted(built.rules.items())
    }
    record_prices(client, built.prices.values(), database=database)
    with translate_errors():
        client.insert(
            f"{quote_identifier(database)}.{RULES_TABLE}",
            [list(item) for item in kept.items()],
            column_names=["Provider", "Rules"],
        )
    return PriceRules(built.prices, kept)


def _price(provider_id: str, info: Any, when: datetime, version: str) -> ModelPrice | None:
    """`info`'s standard price at `when`, built as the collector builds it (`prices._from_genai_prices`), so that
    it gets the same `PriceId`; None for a model not priced per token."""
    price = info.get_prices(when)
    input_rate = prices._rate(getattr(price, "input_mtok", None))
    output_rate = prices._rate(getattr(price, "output_mtok", None))
    if input_rate is None and output_rate is None:
        return None
    return prices._with_id(
        ModelPrice(
            provider=provider_id,
            model=info.id,
            input=input_rate if input_rate is not None else Decimal(0),
            output=output_rate if output_rate is not None else Decimal(0),
            cache_read=prices._rate(getattr(price, "cache_read_mtok", None)),
            cache_write=prices._rate(getattr(price, "cache_write_mtok", None)),
            cache_write_1h=prices._rate(getattr(price, "cache_write_1h_mtok", None)),
            source="genai-prices",
            version=version,
        )
    )


def _alternatives(clause: Any) -> list[tuple[tuple[str, ...], tuple[str, ...]]] | None:
    """The (patterns, exclusions) alternatives that match the lower-case model names `clause` matches; None when
    RE2 cannot say it."""
    kind = type(clause).__name__
    if kind == "ClauseEquals":
        return [((f"^{_escaped(clause.equals)}$",), ())]
    if kind == "ClauseStartsWith":
        return [((f"^{_escaped(clause.starts_with)}",), ())]
    if kind == "ClauseEndsWith":
        return [((f"{_escaped(clause.ends_with)}$",), ())]
    if kind == "ClauseContains":
        return [((_escaped(clause.contains),), ())]
    if kind == "ClauseRegex":
        regex = str(clause.regex)
        negative = _LEADING_NEGATIVE_LOOKAHEAD.match(regex)
        if negative and not any(mark in negative.group(1) for mark in _LOOKAROUND):
            return [((), (f"^(?:{negative.group(1)})",))]
        return None if any(mark in regex for mark in _LOOKAROUND) else [((regex,), ())]
    parts = [_alternatives(sub) for sub in getattr(clause, "or_", None) or getattr(clause, "and_", None) or ()]
    if not parts or any(part is None for part in parts):
        return None
    if kind == "ClauseOr":
        return [alternative for part in parts for alternative in part or ()]
    if kind == "ClauseAnd":
        joined: list[tuple[tuple[str, ...], tuple[str, ...]]] = [((), ())]
        for part in parts:
            joined = [(a + c, b + d) for a, b in joined for c, d in part or ()]
        return joined
    return None


def _escaped(text: str) -> str:
    return _RE2_SPECIAL.sub(r"\\\1", text.lower())


def _compiling(client: Client, patterns: Iterable[str]) -> set[str]:
    """The `patterns` ClickHouse's RE2 compiles (a pattern that does not would fail every insert of the view)."""
    candidates = sorted(patterns)
    try:
        _check(client, candidates)
        return set(candidates)
    except ClickHouseError:
        pass
    usable = set()
    for pattern in candidates:
        try:
            _check(client, [pattern])
        except ClickHouseError:
            continue
        usable.add(pattern)
    return usable


def _check(client: Client, patterns: Sequence[str]) -> None:
    with translate_errors():
        client.query(
            "SELECT arrayMap(p -> match('', p), {patterns:Array(String)})", parameters={"patterns": list(patterns)}
        )
