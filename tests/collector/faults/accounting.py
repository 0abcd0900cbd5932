# SPDX-License-Identifier: Apache-2.0
"""The books a fault must leave balanced: every acknowledged span stored once at its cost, rollups equal to the
calls.

`llm_calls FINAL` collapses a span inserted twice, so it alone cannot show double counting; the rollups (fed by
materialized views on every insert, read here without FINAL) and the row count without FINAL can. Read them only
once the collector has stopped cleanly, when nothing is left to insert.
"""

from __future__ import annotations

from decimal import Decimal

from tests.collector.running import wait_for

from .processes import RestartableClickHouse

# Rollup tables fed from llm_calls (schemas/migrations/0002), each with its TotalCost sum.
ROLLUPS = ("llm_usage_hourly", "llm_usage_daily_user", "llm_trace_costs")


def stored_costs(server: RestartableClickHouse, database: str) -> dict[str, Decimal]:
    """TotalCost of every call in `llm_calls FINAL`, by span id."""
    return dict(server.query(f"SELECT SpanId, TotalCost FROM {database}.llm_calls FINAL"))


def missing(server: RestartableClickHouse, database: str, acknowledged: dict[str, Decimal]) -> int:
    """How many acknowledged spans are not (yet) stored."""
    return len(acknowledged.keys() - stored_costs(server, database).keys())


def wait_stored(server: RestartableClickHouse, database: str, acknowledged: dict[str, Decimal], timeout=90) -> int:
    """Wait (bounded) until every acknowledged span is stored; how many are still missing."""
    return wait_for(lambda: missing(server, database, acknowledged), 0, timeout=timeout)


def assert_exactly_once(server: RestartableClickHouse, database: str, acknowledged: dict[str, Decimal]) -> None:
    """Every acknowledged span is in `llm_calls FINAL` at its cost; no call was inserted twice; every rollup sums
    to the calls' USD."""
    assert acknowledged, "nothing was acknowledged: the fault was not injected under load"
    stored = stored_costs(server, database)
    lost = acknowledged.keys() - stored.keys()
    assert not lost, f"{len(lost)} of {len(acknowledged)} acknowledged spans are not stored"
    assert {span: stored[span] for span in acknowledged} == acknowledged
    assert sum(stored[span] for span in acknowledged) == sum(acknowledged.values())
    ((rows,),) = server.query(f"SELECT count() FROM {database}.llm_calls")
    assert rows == len(stored), f"{rows - len(stored)} calls were inserted twice"
    usd = sum(stored.values(), Decimal(0))
    totals = {table: rollup_usd(server, database, table) for table in ROLLUPS}
    assert totals == dict.fromkeys(ROLLUPS, usd), f"llm_calls FINAL holds {usd} USD, the rollups {totals}"
    ((calls,),) = server.query(f"SELECT sum(Calls) FROM {database}.llm_usage_hourly")
    assert calls == len(stored)


def rollup_usd(server: RestartableClickHouse, database: str, table: str) -> Decimal:
    ((usd,),) = server.query(f"SELECT sum(TotalCost) FROM {database}.{table}")
    return usd
