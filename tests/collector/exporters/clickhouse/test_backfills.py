# SPDX-License-Identifier: Apache-2.0
"""A rollup added to a database that already holds calls counts each of them exactly once, whatever the inserts,
re-pricings and interrupted runs around its migration (migrations 0018–0020 and 0022, `backfills.py`)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from time import sleep, time_ns

import pytest
from clickhouse_connect.driver.client import Client

from llmledger.collector.exporters.clickhouse import backfills, migrations
from llmledger.collector.exporters.clickhouse.errors import BadQuery
from llmledger.collector.exporters.clickhouse.writer import insert_llm_calls
from llmledger.collector.llm_calls import LlmCall
from llmledger.collector.repricing import Repricer, Window

from ...repricing.conftest import price_file, priced_calls  # noqa: F401  (the fixture, shared)
from .test_daily_rollups import PRICES_A, PRICES_B, _calls

_HOUR = 3600 * 10**9
_FAILED = "(StatusCode IN ('Error', 'STATUS_CODE_ERROR') OR ErrorType != '')"
_BACKFILLED = [m for m in migrations.migrations() if m.name >= "0018"]


@dataclass
class Database:
    name: str
    admin: Client  # no database selected, as the runner
    client: Client  # in the database, as a collector

    def apply_the_rest(self) -> None:
        for migration in _BACKFILLED:
            migrations.run(self.admin, migration, self.name)

    def slow_insert(self, rows: int, seconds: float) -> threading.Thread:
        """Starts inserting `rows` calls in one INSERT … SELECT that takes about `seconds`; its thread."""
        sql = (
            f"INSERT INTO {self.name}.llm_calls (Timestamp, TraceId, SpanId, Tenant, SessionId, Provider, "
            "RequestModel, InputTokens, TotalCost, CostSource, Attributes) "
            "SELECT now64(9) - toIntervalSecond(number), leftPad(hex(number + 1000000), 32, '0'), "
            "leftPad(hex(number), 16, '0'), 'acme', 'slow-session', 'acme', 'acme-chat', 10, toDecimal64(0.5, 12), "
            "'collector', map('team', 'slow') FROM numbers({rows:UInt32}) WHERE sleepEachRow({pause:Float64}) = 0 "
            "SETTINGS max_block_size = 10, max_threads = 1"
        )
        thread = threading.Thread(
            target=self.admin.command, args=(sql,), kwargs={"parameters": {"rows": rows, "pause": seconds / rows}}
        )
        thread.start()
        return thread

    def assert_every_rollup_counts_each_call_once(self) -> None:
        facts = "FROM llm_calls FINAL"
        pairs = [
            (
                "SELECT sum(Calls), sum(TotalCost), sum(InputTokens), sum(UnpricedCalls) FROM llm_usage_daily",
                f"SELECT count(), sum(TotalCost), sum(InputTokens), countIf(CostSource = 'unpriced') {facts}",
            ),
            (
                "SELECT sum(Calls), sum(TotalCost) FROM llm_session_costs",
                f"SELECT count(), sum(TotalCost) {facts} WHERE SessionId != ''",
            ),
            (
                "SELECT sum(Calls), sum(TotalCost) FROM llm_attribute_costs WHERE Key = 'team'",
                f"SELECT count(), sum(TotalCost) {facts} WHERE Attributes['team'] != ''",
            ),
            (
                "SELECT sum(Calls), sum(FailedCost), sum(UnpricedTokens), sum(IncompleteUsageCalls) "
                "FROM llm_waste_hourly",
                f"SELECT count(), sumIf(TotalCost, {_FAILED}), "
                "sumIf(toUInt64(InputTokens) + OutputTokens, CostSource = 'unpriced' AND UsageComplete), "
                f"countIf(NOT UsageComplete) {facts}",
            ),
            (
                "SELECT sum(Calls), sum(TotalCost), uniqExactMerge(Traces) FROM llm_session_costs_hourly",
                f"SELECT count(), sum(TotalCost), uniqExact(TraceId) {facts} WHERE SessionId != ''",
            ),
            (
                "SELECT sum(Calls), sum(TotalCost) FROM llm_attribute_costs_hourly WHERE Key = 'team'",
                f"SELECT count(), sum(TotalCost) {facts} WHERE Attributes['team'] != ''",
            ),
        ]
        for rollup, fact in pairs:
            assert self.client.query(rollup).result_rows == self.client.query(fact).result_rows, rollup


@pytest.fixture
def at_0017(clickhouse) -> Iterator[Database]:
    """A database whose schema stops at migration 0017, as one made before the rollups of 0018–0020."""
    name = f"backfills_{time_ns() % 10**9}"
    clickhouse.client.command(f"CREATE DATABASE {name}")
    try:
        for migration in migrations.migrations():
            if migration.name < "0018":
                migrations.run(clickhouse.client, migration, name)
        yield Database(name, clickhouse.client, clickhouse.connect(name))
    finally:
        clickhouse.client.command(f"DROP DATABASE IF EXISTS {name} SYNC")


def test_an_insert_that_started_before_the_views_and_ends_after_them_is_copied(at_0017):
    # It runs without the views (they did not exist when it started), so only the copy can count its calls: the
    # copy waits for it to end.
    insert_llm_calls(at_0017.client, _calls(time_ns()))
    slow = at_0017.slow_insert(rows=100, seconds=2.0)
    sleep(0.3)
    at_0017.apply_the_rest()
    slow.join()
    assert at_0017.client.command("SELECT countIf(SessionId = 'slow-session') FROM llm_calls") == 100
    at_0017.assert_every_rollup_counts_each_call_once()


def test_calls_inserted_while_the_migration_runs_are_counted_once(at_0017):
    stop = threading.Event()
    batches: list[int] = []

    def collector() -> None:
        while not stop.is_set():
            n = len(batches)
            now = time_ns() - n * 60 * 10**9
            insert_llm_calls(at_0017.client, [_call(now, n, index) for index in range(20)])
            batches.append(n)

    thread = threading.Thread(target=collector)
    thread.start()
    try:
        while len(batches) < 3:
            sleep(0.01)
        at_0017.apply_the_rest()
        sleep(0.3)
    finally:
        stop.set()
        thread.join()
    assert len(batches) > 5
    at_0017.assert_every_rollup_counts_each_call_once()


def test_re_pricings_before_the_migration_are_copied_and_later_ones_counted_by_the_views(at_0017, price_file):  # noqa: F811
    now = time_ns()
    price_file(PRICES_A)
    calls, used = priced_calls(_calls(now))
    insert_llm_calls(at_0017.client, calls, prices=used)
    for statement in (s for m in _BACKFILLED for s in m.statements(at_0017.name)):
        if re.search(r"^ALTER TABLE", statement, re.MULTILINE):
            at_0017.admin.command(statement)  # the journal's columns today's Repricer writes
    price_file(PRICES_B)
    Repricer(at_0017.client).run(Window(now - 50 * _HOUR, now), reason="before", price_source="B")
    assert at_0017.client.command("SELECT count() FROM llm_call_repricings") > 0
    at_0017.apply_the_rest()
    at_0017.assert_every_rollup_counts_each_call_once()

    price_file(PRICES_A)
    Repricer(at_0017.client).run(Window(now - 80 * _HOUR, now), reason="after", price_source="A")
    at_0017.assert_every_rollup_counts_each_call_once()


def test_a_view_left_by_an_interrupted_run_is_matched_by_its_own_cut_off(at_0017):
    # The run stopped after creating 0018's first view; calls arrive; the next run, with a later cut-off of its
    # own, copies up to the cut-off in that view, not its own.
    insert_llm_calls(at_0017.client, _calls(time_ns()))
    daily = _BACKFILLED[0]
    statements = daily.statements(at_0017.name)
    first_view = next(i for i, s in enumerate(statements) if "MATERIALIZED VIEW" in s)
    backfill = backfills.Backfill(at_0017.admin, at_0017.name)
    for statement in statements[: first_view + 1]:
        backfill.run(statement)
    sleep(0.3)  # past that cut-off: these calls are the view's
    insert_llm_calls(at_0017.client, [_call(time_ns(), 0, index) for index in range(7)])
    at_0017.apply_the_rest()
    at_0017.assert_every_rollup_counts_each_call_once()


def test_a_copy_waits_for_earlier_inserts_only_so_long_then_copies_nothing_and_says_why(at_0017, monkeypatch):
    monkeypatch.setattr(backfills, "WAIT_LIMIT", 0.3)
    slow = at_0017.slow_insert(rows=60, seconds=2.0)
    sleep(0.3)
    with pytest.raises(BadQuery, match=r"backfill of llm_usage_daily_mv.*still running after 0 s \(query ids "):
        at_0017.apply_the_rest()
    assert at_0017.client.command("SELECT count() FROM llm_usage_daily") == 0
    slow.join()
    at_0017.apply_the_rest()  # once it has ended, the next run copies it
    at_0017.assert_every_rollup_counts_each_call_once()


def test_the_printed_schema_holds_cut_offs_not_placeholders():
    script = migrations.render("analytics")
    code = [line for line in script.splitlines() if not line.lstrip().startswith("--")]
    assert not [line for line in code if "{cutoff" in line]
    views = sum(
        line.count(">= {cutoff")
        for migration in migrations.migrations()
        for line in migration.template.splitlines()
        if not line.lstrip().startswith("--")
    )
    assert views > 3 and sum(line.count("At >= toDateTime64('") for line in code) == views


def _call(now: int, batch: int, index: int) -> LlmCall:
    return LlmCall(
        timestamp_ns=now - index * 10**9,
        trace_id=f"{batch:016x}{index:016x}",
        span_id=f"{index:016x}",
        tenant="acme",
        session_id=f"s{batch}",
        provider="acme",
        request_model="acme-chat",
        input_tokens=100 + index,
        attributes={"team": "core"},
    )
