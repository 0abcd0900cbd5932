# SPDX-License-Identifier: Apache-2.0
"""Calls priced by the collector's own cost code under a price file, and the file changed afterwards.

* `price_file(text)` — writes an override file into tmp, makes it LLMLEDGER_PRICES_FILE for this process and
  has the lookups read it now; the file's path.
* `priced_calls(calls)` — costs each `LlmCall` as the collector does (`extract.costs.apply_cost`, the span
  carrying no cost of its own) with the prices in force, and returns the calls and the prices they used.
* `webhook` — the budget tests' loopback webhook receiver (`tests/collector/budgets/conftest.py`).
* `totals(client)` — every total a reprice must move: the fact table, each rollup, and the named queries that
  read them, as {name: Decimal}.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from pathlib import Path

import pytest

from llmledger._core import prices
from llmledger._core.prices import ModelPrice
from llmledger._core.usage import Usage
from llmledger.collector.exporters.clickhouse.queries import named_queries, named_query
from llmledger.collector.extract.costs import apply_cost
from llmledger.collector.llm_calls import LlmCall

from ..budgets.conftest import webhook  # noqa: F401  (the fixture, shared)


@pytest.fixture
def price_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], Path]]:
    path = tmp_path / "prices.yaml"

    def write(text: str) -> Path:
        path.write_text(text, encoding="utf-8")
        monkeypatch.setenv(prices.PRICES_FILE_ENV, str(path))
        prices.reload()
        prices._load_overrides.cache_clear()  # a rewrite within the same mtime tick must still be seen
        return path

    yield write
    monkeypatch.delenv(prices.PRICES_FILE_ENV, raising=False)
    prices.reload()


def priced_calls(calls: Sequence[LlmCall]) -> tuple[list[LlmCall], list[ModelPrice]]:
    used: dict[str, ModelPrice] = {}
    for call in calls:
        usage = Usage(
            call.input_tokens, call.output_tokens, call.cache_read_input_tokens, call.cache_creation_input_tokens
        )
        apply_cost(call, {}, usage, used)
    return list(calls), list(used.values())


# Every rollup of llm_calls, each moved by a re-pricing.
ROLLUPS = (
    "llm_usage_hourly",
    "llm_usage_daily",
    "llm_usage_daily_user",
    "llm_session_costs",
    "llm_attribute_costs",
    "llm_trace_costs",
    "llm_budget_usage",
    "llm_waste_hourly",
    "llm_session_costs_hourly",
    "llm_attribute_costs_hourly",
)
_ROLLUP_TOTALS = {
    "llm_calls FINAL": "SELECT sum(TotalCost) FROM llm_calls FINAL",
    "llm_usage_hourly": "SELECT sum(TotalCost) FROM llm_usage_hourly",
    "llm_usage_hourly parts": "SELECT sum(InputCost) + sum(CacheReadCost) + sum(CacheWriteCost) + sum(OutputCost) "
    "+ sum(OtherCost) FROM llm_usage_hourly",
    "llm_usage_daily_user": "SELECT sum(TotalCost) FROM llm_usage_daily_user",
    "llm_trace_costs": "SELECT sum(TotalCost) FROM llm_trace_costs",
    "llm_budget_usage": "SELECT sum(TotalCost) FROM llm_budget_usage",
    "llm_usage_daily": "SELECT sum(TotalCost) FROM llm_usage_daily",
    "llm_session_costs": "SELECT sum(TotalCost) FROM llm_session_costs",
    "session calls (llm_calls)": "SELECT sum(TotalCost) FROM llm_calls FINAL WHERE SessionId != ''",
    "llm_attribute_costs": "SELECT sum(TotalCost) FROM llm_attribute_costs",
    "llm_session_costs_hourly": "SELECT sum(TotalCost) FROM llm_session_costs_hourly",
    "llm_attribute_costs_hourly": "SELECT sum(TotalCost) FROM llm_attribute_costs_hourly",
    "unpriced calls (llm_waste_hourly)": "SELECT toDecimal64(sum(UnpricedUsageCalls), 0) FROM llm_waste_hourly",
    "unpriced calls (hourly)": "SELECT toDecimal64(sum(UnpricedCalls), 0) FROM llm_usage_hourly",
    "unpriced calls (traces)": "SELECT toDecimal64(sum(UnpricedCalls), 0) FROM llm_trace_costs",
    "unpriced calls (daily)": "SELECT toDecimal64(sum(UnpricedCalls), 0) FROM llm_usage_daily",
    "calls (hourly)": "SELECT toDecimal64(sum(Calls), 0) FROM llm_usage_hourly",
    "cache savings (hourly)": "SELECT sum(CacheSavings) FROM llm_usage_hourly",
    "cache savings (calls)": "SELECT sum(CacheSavings) FROM llm_calls FINAL",
}
# Named queries and the column of each that holds spend.
_NAMED = {
    "total_spend": "spend_usd",
    "spend_by_model": "spend_usd",
    "spend_by_user": "spend_usd",
    "spend_by_service": "spend_usd",
    "spend_by_feature": "spend_usd",
    "spend_over_time": "spend_usd",
    "trace_costs": "spend_usd",
    "session_costs": "spend_usd",
}


def totals(client) -> dict[str, Decimal]:
    found = {name: Decimal(client.query(sql).result_rows[0][0]) for name, sql in _ROLLUP_TOTALS.items()}
    for name, column in _NAMED.items():
        query = named_query(name)
        result = client.query(query.sql, parameters=query.bind({"limit": "1000"} if "limit" in query.bind() else {}))
        rows = result.result_rows
        found[name] = sum((Decimal(row[result.column_names.index(column)]) for row in rows), Decimal(0))
    return found


_MONEY = ("usd", "spend", "cost", "saving", "unpriced")


def shapes(client) -> dict[str, list[tuple]]:
    """Every named query's rows without its money columns (and unpriced counts): what a re-pricing leaves alone,
    latency quantiles, calls, tokens, users, trace spans and models included."""
    found = {}
    for name in named_queries().keys() - {"repricings", "price_changes"}:  # those are about the re-pricing itself
        query = named_query(name)
        result = client.query(query.sql, parameters=query.bind())
        keep = [i for i, column in enumerate(result.column_names) if not any(m in column for m in _MONEY)]
        found[name] = sorted(tuple(str(row[i]) for i in keep) for row in result.result_rows)
    return found
