# SPDX-License-Identifier: Apache-2.0
"""A call delivered to several collectors counts once in every rollup: each collector takes back its own
deliveries of calls another delivery stored first (migration 0021, `duplicates.sweep`), so every rollup, row by
row, and every named query equal those of a database that received each call once."""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Iterator

import pytest

from llmledger.collector.exporters.clickhouse import migrations
from llmledger.collector.exporters.clickhouse.duplicates import collector_prefix, sweep
from llmledger.collector.exporters.clickhouse.queries import named_queries
from llmledger.collector.exporters.clickhouse.writer import insert_llm_calls
from llmledger.collector.llm_calls import LlmCall
from llmledger.collector.repricing import Repricer, Window

from ...repricing.conftest import ROLLUPS

A, B, C = (collector_prefix(name) for name in ("queue-a", "queue-b", "queue-c"))
SETTLE = 0.001  # seconds: the deliveries below are all visible when swept


@pytest.fixture
def fresh(clickhouse) -> Iterator:
    """A function that makes a new database with the schema and gives a client of it (dropped afterwards)."""
    made = []

    def make():
        name = f"duplicates_{uuid.uuid4().hex[:8]}"
        migrations.apply(clickhouse.client, name)
        made.append(name)
        return clickhouse.connect(name)

    yield make
    for name in made:
        clickhouse.client.command(f"DROP DATABASE IF EXISTS {name} SYNC")


@pytest.fixture
def calls(sample_calls: list[LlmCall]) -> list[LlmCall]:
    """The sample calls (tenants, users, sessions, attributes, errors, an unpriced model), some without usage."""
    return [
        dataclasses.replace(call, usage_complete=False, input_tokens=0, output_tokens=0) if index % 9 == 4 else call
        for index, call in enumerate(sample_calls)
    ]


def deliver(client, collector: str, calls: list[LlmCall], batch: int = 0) -> None:
    """`calls` inserted as the collector named by `collector` inserts a batch (its deduplication token)."""
    insert_llm_calls(client, calls, deduplication_token=f"{collector}{batch}-{batch + 1}-calls-0")


def swept(client, collector: str) -> int:
    time.sleep(0.01)  # past the settle time of every insert so far
    return sweep(client, collector, settle=SETTLE)


def rollups(client) -> dict[str, list[tuple]]:
    """Every rollup's rows as merged (FINAL), but for aggregate states (sets of users and traces, latency digests)."""
    found = {}
    for table in ROLLUPS:
        columns = [
            name
            for name, kind in client.query(
                "SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = {t:String}"
                " ORDER BY position",
                parameters={"t": table},
            ).result_rows
            if not kind.startswith("AggregateFunction")
        ]
        rows = client.query(f"SELECT {', '.join(columns)} FROM {table} FINAL").result_rows
        found[table] = sorted(rows, key=repr)
    return found


def answers(client) -> dict[str, list[tuple]]:
    """Every named query's rows; budget_burn's projections (floats that move with now()) left out."""
    found = {name: client.query(q.sql, parameters=q.bind()).result_rows for name, q in named_queries().items()}
    found["budget_burn"] = [tuple(v for v in row if not isinstance(v, float)) for row in found["budget_burn"]]
    return found


def test_each_collector_takes_back_its_deliveries_of_calls_another_stored_first(fresh, calls):
    reference, shared = fresh(), fresh()
    deliver(reference, A, calls)
    deliver(shared, A, calls)  # first: every call
    deliver(shared, B, calls[:20])  # a client's retry through another collector
    deliver(shared, C, calls[10:15])  # and through a third
    assert rollups(shared) != rollups(reference)  # counted twice, before the sweeps

    assert [swept(shared, collector) for collector in (A, B, C)] == [0, 20, 5]
    assert rollups(shared) == rollups(reference)
    assert answers(shared) == answers(reference)
    assert [swept(shared, collector) for collector in (A, B, C)] == [0, 0, 0]  # nothing new since


def test_a_delivery_is_never_taken_back_twice(fresh, calls):
    reference, shared = fresh(), fresh()
    deliver(reference, A, calls)
    deliver(shared, A, calls)
    deliver(shared, B, calls[:12])
    assert swept(shared, B) == 12
    shared.command("TRUNCATE TABLE llm_delivery_sweeps")  # as if the sweep's mark had been lost: swept again
    swept(shared, B)
    assert shared.command("SELECT count() FROM llm_call_retractions") == 12
    assert rollups(shared) == rollups(reference)


def test_the_first_delivery_counts_whichever_collector_sweeps_first(fresh, calls):
    reference, shared = fresh(), fresh()
    deliver(reference, A, calls)
    deliver(shared, B, calls[:10])
    assert swept(shared, B) == 0  # the only delivery so far: it counts
    deliver(shared, A, calls)
    assert swept(shared, A) == 10  # A's copies of B's ten calls came second
    assert swept(shared, B) == 0
    assert rollups(shared) == rollups(reference)


def test_a_collector_that_delivers_a_call_twice_takes_back_the_second(fresh, calls):
    reference, shared = fresh(), fresh()
    deliver(reference, A, calls)
    deliver(shared, A, calls)
    deliver(shared, A, calls[5:8], batch=1)  # re-sent after a restart that lost the re-send filter
    assert swept(shared, A) == 3
    assert rollups(shared) == rollups(reference)
    assert shared.command("SELECT count() FROM llm_calls FINAL") == len(calls)


def test_a_first_delivery_seen_only_after_the_other_was_kept_is_taken_back_by_its_own_collector(fresh, calls):
    reference, shared = fresh(), fresh()
    deliver(reference, A, calls)
    deliver(shared, B, calls[:10])
    assert swept(shared, B) == 0  # nothing else stored: B keeps its copies, for good
    # A's copies of those calls, an insert begun before B's (a lower Version) that became visible only now.
    shared.command(
        "INSERT INTO llm_calls SELECT * REPLACE (Version - 1000 AS Version, now64(3) AS IngestedAt) FROM llm_calls",
        settings={"insert_deduplication_token": f"{A}0-1-calls-0"},
    )
    deliver(shared, A, calls[10:], batch=1)
    assert swept(shared, A) == 10  # B kept its copies: A takes back its own, though they came first
    assert swept(shared, B) == 0
    assert rollups(shared) == rollups(reference)


def test_a_re_pricing_before_the_sweep_still_leaves_each_call_counted_once(fresh, calls):
    reference, shared = fresh(), fresh()
    deliver(reference, A, calls)
    deliver(shared, A, calls)
    deliver(shared, B, calls[:20])
    window = Window(min(call.timestamp_ns for call in calls) - 1, time.time_ns())
    for client in (reference, shared):  # the calls' made-up prices, costed again at genai-prices' own
        assert Repricer(client).run(window, reason="list prices", price_source="bundled").calls > 0
    assert swept(shared, B) == 20
    assert rollups(shared) == rollups(reference)
    runs = "repricings"  # the audit of each database's own run: its times differ
    assert {k: v for k, v in answers(shared).items() if k != runs} == {
        k: v for k, v in answers(reference).items() if k != runs
    }
