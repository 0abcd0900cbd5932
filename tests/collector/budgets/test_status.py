# SPDX-License-Identifier: Apache-2.0
"""Budget status agrees with a plain SQL sum over `llm_calls FINAL` for the same window and scope.

Calls are spread over the last 40 days, with extra calls a millisecond either side of every window bound (the
start of a rolling window, the local midnights of Kolkata's +05:30 and Kathmandu's +05:45), so the rollup's
15-minute buckets and the edge sums from `llm_calls` must split exactly.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from llmledger._core.budget_file import Budget, BudgetFile, Scope, Window
from llmledger.collector.budgets import read_status, status_document, sync
from llmledger.collector.budgets._sql import glob_pattern
from llmledger.collector.exporters.clickhouse.writer import insert_llm_calls
from llmledger.collector.llm_calls import LlmCall

NOW = datetime.now(UTC).replace(microsecond=123_000)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

BUDGETS = BudgetFile(
    budgets=(
        Budget("acme-day", Scope(tenant="acme"), Window("day"), Decimal("50")),
        Budget("berlin-month", Scope(service="support-*"), Window("month", timezone="Europe/Berlin"), Decimal(500)),
        Budget("kolkata-day", Scope(), Window("day", timezone="Asia/Kolkata"), Decimal("20.5")),
        Budget("kathmandu-day", Scope(model="gpt-4o*"), Window("day", timezone="Asia/Kathmandu"), Decimal(7)),
        Budget("users-24h", Scope(tenant="globex"), Window("rolling", hours=24), Decimal(3), per=("user",)),
        Budget("bot-6h", Scope(service="support-?ot", feature="[ab]*"), Window("rolling", hours=6), Decimal(2)),
        Budget("teams-month", Scope(), Window("month"), Decimal(100), per=("tenant", "feature")),
        Budget("nobody", Scope(user="ghost"), Window("day"), Decimal(1)),
    )
)


def _calls() -> list[LlmCall]:
    rng = random.Random(6)
    moments = [NOW - timedelta(seconds=rng.uniform(-3600, 40 * 86400)) for _ in range(600)]
    edges = len(moments)
    edge_tenants = []
    for budget in BUDGETS.budgets:
        start, end = budget.window.bounds(NOW)
        for bound in (start, end, NOW):
            offsets = (-1, 0, 1, 7 * 60_000, -7 * 60_000)
            moments += [bound + timedelta(milliseconds=offset) for offset in offsets]
            # A window's edge calls are in its own budget's scope, so every budget has spend at any time of day,
            # even just after midnight, when the random calls may have left its window empty.
            edge_tenants += [budget.scope.tenant if budget.scope.tenant != "*" else "globex"] * len(offsets)
    calls = []
    for index, moment in enumerate(moments):
        # A call at a window edge is in every budget's scope but `nobody`'s (and `users-24h`'s, for acme's edges),
        # so each edge counts somewhere.
        edge = {"service_name": "support-bot", "feature": "answer", "user_id": "u1"}
        calls.append(
            LlmCall(
                timestamp_ns=(moment - _EPOCH) // timedelta(microseconds=1) * 1000,  # exact, unlike a float
                trace_id=f"{index:032x}",
                span_id=f"{index:016x}",
                tenant=edge_tenants[index - edges] if index >= edges else rng.choice(["acme", "globex", ""]),
                service_name=edge["service_name"]
                if index >= edges
                else rng.choice(["support-bot", "support-api", "search"]),
                feature=edge["feature"] if index >= edges else rng.choice(["answer", "browse", "classify"]),
                user_id=edge["user_id"] if index >= edges else rng.choice(["u1", "u2", "u3", ""]),
                response_model="gpt-4o" if index >= edges else rng.choice(["gpt-4o", "gpt-4o-mini", "claude-sonnet-4"]),
                priced_model="",
                total_cost=Decimal(rng.randrange(1, 10**9)) / Decimal(10**10),
                cost_source="collector",
            )
        )
    return calls


@pytest.fixture(scope="module")
def calls(client):
    rows = _calls()
    insert_llm_calls(client, rows, deduplication_token="budget-status")
    return rows


def _expected(client, budget: Budget) -> dict[tuple[str, ...], Decimal]:
    """Spend per key from llm_calls FINAL in the window the budget file model computes."""
    start, end = budget.window.bounds(NOW)
    rows = client.query(
        "SELECT Tenant, ServiceName, Feature, UserId, Model, sum(TotalCost) FROM llm_calls FINAL "
        "WHERE Timestamp >= parseDateTime64BestEffort({start:String}, 3, 'UTC') "
        "AND Timestamp < parseDateTime64BestEffort({end:String}, 3, 'UTC') "
        "GROUP BY Tenant, ServiceName, Feature, UserId, Model",
        parameters={"start": start.isoformat(timespec="milliseconds"), "end": end.isoformat(timespec="milliseconds")},
    ).result_rows
    spent: dict[tuple[str, ...], Decimal] = defaultdict(Decimal)
    if not budget.per:
        spent[()] = Decimal(0)
    for tenant, service, feature, user, model, cost in rows:
        dims = {"tenant": tenant, "service": service, "feature": feature, "user": user, "model": model}
        if budget.scope.matches(dims):
            spent[tuple(budget.key(dims).values())] += cost
    return {key: value for key, value in spent.items() if value or not budget.per}


@pytest.fixture(scope="module")
def statuses(client, calls):
    return read_status(client, BUDGETS, NOW)


@pytest.mark.parametrize("budget", BUDGETS.budgets, ids=[b.name for b in BUDGETS.budgets])
def test_spent_equals_the_sql_sum_over_llm_calls_final_for_the_same_window(client, statuses, budget):
    mine = [status for status in statuses if status.name == budget.name]
    actual = {tuple(status.key[dim] for dim in budget.per): status.spent_usd for status in mine}
    assert actual == _expected(client, budget)
    assert actual  # every budget is exercised, with spend, except the one nobody matches
    assert any(actual.values()) == (budget.name != "nobody")


@pytest.mark.parametrize("budget", BUDGETS.budgets, ids=[b.name for b in BUDGETS.budgets])
def test_window_bounds_are_the_budget_file_models_in_its_time_zone(statuses, budget):
    start, end = budget.window.bounds(NOW)
    for status in (s for s in statuses if s.name == budget.name):
        assert (status.window_start, status.window_end) == (start, end)


def test_fraction_burn_rate_and_projection_follow_from_spend_and_window(statuses):
    for status in statuses:
        assert status.fraction == pytest.approx(float(status.spent_usd / status.limit_usd))
        elapsed = max((min(NOW, status.window_end) - status.window_start).total_seconds() / 3600, 0.25)
        assert status.burn_rate_usd_per_hour == pytest.approx(float(status.spent_usd) / elapsed)
        if status.window_end == NOW:  # rolling: the window ends now
            assert status.projected_usd == status.spent_usd
        else:
            left = (status.window_end - NOW).total_seconds() / 3600
            expected = float(status.spent_usd) + status.burn_rate_usd_per_hour * left
            assert float(status.projected_usd) == pytest.approx(expected, abs=1e-6)


def test_the_json_document_has_exactly_the_contract_fields(statuses):
    document = status_document(statuses, NOW)
    assert document["generated_at"] == NOW.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    entry = next(e for e in document["budgets"] if e["name"] == "users-24h")
    assert set(entry) == {
        "name",
        "key",
        "window_start",
        "window_end",
        "limit_usd",
        "spent_usd",
        "fraction",
        "burn_rate_usd_per_hour",
        "projected_usd",
        "action",
    }
    assert set(entry["key"]) == {"user"}
    assert entry["limit_usd"] == "3"
    assert Decimal(entry["spent_usd"]) == next(s.spent_usd for s in statuses if s.key == entry["key"])
    assert isinstance(entry["fraction"], float) and isinstance(entry["burn_rate_usd_per_hour"], float)
    assert datetime.fromisoformat(entry["window_end"]) == NOW


def test_the_synced_view_shows_what_the_collector_reads(client, calls, database):
    sync(client, BUDGETS, database)
    calendar = [b.name for b in BUDGETS.budgets if b.window.kind != "rolling"]
    rows = client.query(
        "SELECT Name, Key, SpentUsd FROM llm_budget_status WHERE Name IN {names:Array(String)}",
        parameters={"names": calendar},
    ).result_rows
    now = datetime.now(UTC)
    expected = {(s.name, tuple(s.key.items()), s.spent_usd) for s in read_status(client, BUDGETS, now)}
    assert {(name, tuple(key.items()), spent) for name, key, spent in rows} == {
        entry for entry in expected if entry[0] in calendar
    }


def test_a_budget_removed_from_the_file_leaves_the_view(client, calls, database):
    sync(client, BUDGETS, database)
    sync(client, BudgetFile(budgets=BUDGETS.budgets[:1]), database)
    names = {row[0] for row in client.query("SELECT DISTINCT Name FROM llm_budget_status").result_rows}
    assert names == {"acme-day"}


def test_an_empty_budget_file_has_no_status(client):
    assert read_status(client, BudgetFile(budgets=())) == []


@pytest.mark.parametrize(
    "glob", ["*", "acme", "a*", "*-bot", "support-?ot", "[ab]*", "[!ab]*", "[]x]", "a.b+c", "x[", "(us|eu)", "é*"]
)
def test_glob_patterns_match_what_fnmatch_matches(glob):
    import fnmatch
    import re

    pattern = glob_pattern(glob)
    for value in ["", "acme", "a", "b", "x", "]", "support-bot", "support-Bot", "a.b+c", "axb+c", "x[", "us", "é1"]:
        expected = fnmatch.fnmatchcase(value, glob)
        assert (pattern == "" or re.search(pattern, value) is not None) == expected, (glob, value)


@pytest.mark.parametrize(
    ("zone", "now"),
    [
        ("Europe/Berlin", datetime(2026, 3, 29, 12, tzinfo=UTC)),  # 23-hour day
        ("Europe/Berlin", datetime(2026, 10, 25, 12, tzinfo=UTC)),  # 25-hour day
        ("America/New_York", datetime(2026, 3, 8, 3, 30, tzinfo=UTC)),  # the night before, locally
        ("Australia/Lord_Howe", datetime(2026, 4, 5, 12, tzinfo=UTC)),  # a 30-minute DST shift
        ("America/Santiago", datetime(2026, 9, 6, 12, tzinfo=UTC)),  # midnight does not exist that day
        ("Asia/Kathmandu", datetime(2026, 12, 31, 18, 20, tzinfo=UTC)),  # +05:45, a new month and year locally
    ],
)
def test_calendar_windows_across_dst_changes_match_the_budget_file_model(client, zone, now):
    budgets = BudgetFile(
        budgets=(
            Budget("d", Scope(), Window("day", timezone=zone), Decimal(1)),
            Budget("m", Scope(), Window("month", timezone=zone), Decimal(1)),
        )
    )
    for status, budget in zip(read_status(client, budgets, now), budgets.budgets, strict=True):
        assert (status.window_start, status.window_end) == budget.window.bounds(now), budget.name
