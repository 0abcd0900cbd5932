# SPDX-License-Identifier: Apache-2.0
"""The account behind budgets: atomic all-or-nothing reservations, windows that roll, shared spend combined."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from llmledger import Budget, BudgetExceeded, Scope, Window
from llmledger.instrumentation.budgets._ledger import Ledger, RemoteSpend
from tests.instrumentation.budgets.support import Clock

D = Decimal


def budget(name: str, limit: str, window: Window | None = None, action: str = "raise", **scope: str) -> Budget:
    return Budget(name, Scope(**scope), window or Window("day"), D(limit), action)  # type: ignore[arg-type]


def spent(ledger: Ledger, name: str) -> tuple[Decimal, Decimal]:
    (pool,) = [p for p in ledger.status() if p.name == name]
    return pool.spent_usd, pool.reserved_usd


def test_a_reservation_counts_until_settled_to_the_real_cost():
    ledger = Ledger([budget("b", "1")], Clock())
    hold = ledger.reserve({}, D("0.6"))
    with pytest.raises(BudgetExceeded):
        ledger.reserve({}, D("0.5"))
    hold.close(D("0.1"))
    hold.close(D("0.1"))  # settling twice changes nothing
    assert spent(ledger, "b") == (D("0.1"), 0)
    ledger.reserve({}, D("0.5")).close(None)  # released: an error, a cancellation
    assert spent(ledger, "b") == (D("0.1"), 0)


def test_a_call_whose_usage_never_arrived_in_full_is_charged_at_least_its_reservation():
    ledger = Ledger([budget("b", "2")], Clock())
    ledger.reserve({}, D("0.3")).close(None, complete=False)  # a stream dropped before any usage
    assert spent(ledger, "b") == (D("0.3"), 0)
    ledger.reserve({}, D("0.3")).close(D("0.1"), complete=False)  # only the input side had arrived
    assert spent(ledger, "b") == (D("0.6"), 0)
    ledger.reserve({}, D("0.3")).close(D("0.5"), complete=False)  # more than reserved: what it cost
    assert spent(ledger, "b") == (D("1.1"), 0)


def test_reservations_are_all_or_nothing_across_matching_budgets():
    ledger = Ledger([budget("tenant", "1", tenant="acme"), budget("user", "0.5", user="ann")], Clock())
    ledger.reserve({"tenant": "acme", "user": "bob"}, D("0.4"))
    with pytest.raises(BudgetExceeded, match="budget 'user'"):
        ledger.reserve({"tenant": "acme", "user": "ann"}, D("0.6"))
    assert spent(ledger, "tenant") == (0, D("0.4"))  # the refused call took nothing from the tenant budget
    assert ledger.reserve({"tenant": "other"}, D("5")) is None  # no budget matches


def test_log_and_warn_budgets_reserve_and_report_the_overrun_once_per_window():
    clock = Clock()
    ledger = Ledger([budget("soft", "0.1", action="warn")], clock)
    first = ledger.reserve({}, D("0.2"))
    second = ledger.reserve({}, D("0.2"))
    assert [o.first for o in first.overruns + second.overruns] == [True, False]
    clock.advance(days=1)
    assert ledger.reserve({}, D("0.2")).overruns[0].first


def test_a_used_up_budget_refuses_even_calls_that_reserve_nothing():
    ledger = Ledger([budget("b", "0.5")], Clock())
    ledger.reserve({}, D("0.5")).close(D("0.5"))
    with pytest.raises(BudgetExceeded):
        ledger.reserve({}, D(0))
    with pytest.raises(BudgetExceeded):
        Ledger([budget("zero", "0")], Clock()).reserve({}, D(0))


def test_month_windows_roll_over_at_local_midnight_and_keep_in_flight_reservations():
    clock = Clock(datetime(2026, 3, 31, 21, 59, tzinfo=UTC))  # 23:59 in Berlin (summer time)
    ledger = Ledger([budget("m", "1", Window("month", timezone="Europe/Berlin"))], clock)
    ledger.reserve({}, D("0.5")).close(D("0.5"))
    in_flight = ledger.reserve({}, D("0.3"))
    clock.advance(minutes=1)  # April in Berlin
    (pool,) = ledger.status()
    assert (pool.window_start, pool.spent_usd, pool.reserved_usd) == (
        datetime(2026, 3, 31, 22, tzinfo=UTC),
        0,
        D("0.3"),
    )
    in_flight.close(D("0.2"))  # settled after the rollover: counted in the new window
    assert spent(ledger, "m") == (D("0.2"), 0)


def test_rolling_windows_forget_spend_older_than_their_hours():
    clock = Clock()
    ledger = Ledger([budget("r", "1", Window("rolling", hours=24))], clock)
    ledger.reserve({}, D("0.6")).close(D("0.6"))
    clock.advance(hours=12)
    ledger.reserve({}, D("0.3")).close(D("0.3"))
    with pytest.raises(BudgetExceeded):
        ledger.reserve({}, D("0.2"))
    clock.advance(hours=12, seconds=1)  # the first call is now 24h old
    assert spent(ledger, "r") == (D("0.3"), 0)
    ledger.reserve({}, D("0.7"))


class Remote:
    def __init__(self) -> None:
        self.reported: dict[tuple[str, tuple], RemoteSpend] = {}

    def spend(self, name: str, key: tuple) -> RemoteSpend | None:
        return self.reported.get((name, key))


def test_shared_spend_adds_local_settlements_newer_than_the_snapshot_minus_the_export_lag():
    clock = Clock()
    remote = Remote()
    ledger = Ledger([budget("b", "1")], clock, remote=remote, export_lag=timedelta(seconds=60))
    start = Window("day").bounds(clock())[0]
    ledger.reserve({}, D("0.1")).close(D("0.1"))  # at 12:00:00
    clock.advance(seconds=90)
    ledger.reserve({}, D("0.2")).close(D("0.2"))  # at 12:01:30
    clock.advance(seconds=60)
    # The collector saw every process's spend up to 12:01:00 (snapshot at 12:02:00 minus the lag): $0.5.
    remote.reported[("b", ())] = RemoteSpend(D("0.5"), start, clock() - timedelta(seconds=30))
    assert spent(ledger, "b") == (D("0.7"), 0)  # 0.5 shared + 0.2 settled here since 12:01:00
    with pytest.raises(BudgetExceeded, match=r"spent \$0.7"):
        ledger.reserve({}, D("0.4"))


def test_shared_spend_never_lowers_the_local_total_and_ignores_other_windows():
    clock = Clock()
    remote = Remote()
    ledger = Ledger([budget("b", "1")], clock, remote=remote)
    ledger.reserve({}, D("0.4")).close(D("0.4"))
    clock.advance(minutes=2)  # a snapshot that should include our $0.4, yet says $0.1 (the collector lags)
    remote.reported[("b", ())] = RemoteSpend(D("0.1"), Window("day").bounds(clock())[0], clock())
    assert spent(ledger, "b") == (D("0.4"), 0)
    remote.reported[("b", ())] = RemoteSpend(D("5"), Window("day").bounds(clock() - timedelta(days=1))[0], clock())
    assert spent(ledger, "b") == (D("0.4"), 0)


def test_a_stale_snapshot_is_combined_with_the_whole_local_window():
    clock = Clock()
    remote = Remote()
    ledger = Ledger([budget("b", "1")], clock, remote=remote, remote_horizon=timedelta(minutes=10))
    remote.reported[("b", ())] = RemoteSpend(D("0.3"), Window("day").bounds(clock())[0], clock())
    ledger.reserve({}, D("0.2")).close(D("0.2"))
    clock.advance(hours=1)  # the poller has failed for an hour
    assert spent(ledger, "b") == (D("0.5"), 0)


def test_idle_pools_are_forgotten_once_there_are_many(monkeypatch):
    monkeypatch.setattr("llmledger.instrumentation.budgets._ledger._PRUNE_AT", 3)
    clock = Clock()
    per_user = Budget("users", Scope(), Window("day"), D(1), "raise", per=("user",))
    ledger = Ledger([per_user], clock)
    ledger.reserve({"user": "a"}, D("0.1")).close(D("0.1"))
    ledger.reserve({"user": "b"}, D("0.1")).close(None)  # idle: nothing spent
    held = ledger.reserve({"user": "c"}, D("0.1"))
    ledger.reserve({"user": "d"}, D("0.1"))
    assert sorted(p.key["user"] for p in ledger.status()) == ["a", "c", "d"]
    clock.advance(days=1)
    held.close(None)
    ledger.reserve({"user": "e"}, D("0.1"))
    assert sorted(p.key["user"] for p in ledger.status()) == ["d", "e"]  # d still holds its reservation


def test_the_message_of_a_used_up_budget_does_not_claim_more_than_the_limit():
    ledger = Ledger([budget("b", "0.5")], Clock())
    ledger.reserve({}, D("0.5")).close(D("0.5"))
    with pytest.raises(BudgetExceeded, match=r"spent \$0.5 \+ reserved \$0 \+ this call up to \$0 >= limit \$0.5$"):
        ledger.reserve({}, D(0))
