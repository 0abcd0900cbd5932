# SPDX-License-Identifier: Apache-2.0
"""Threshold alerts fire exactly once per threshold per window, survive a restart, and reach the webhook.

The clock is injected: status and alerts are evaluated at chosen instants, with calls written at chosen times.
Each test uses its own tenant, so the tests share the module's database without seeing each other's spend.
"""

from __future__ import annotations

import itertools
import logging
import socket
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from llmledger._core.budget_file import Budget, BudgetFile, Scope, Window
from llmledger.collector.budgets import AlertEvaluator, Webhook, read_status
from llmledger.collector.exporters.clickhouse.writer import insert_llm_calls
from llmledger.collector.llm_calls import LlmCall

YESTERDAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
TODAY = YESTERDAY + timedelta(days=1)
_ids = itertools.count(1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def spend(client, tenant: str, at: datetime, usd: str, user: str = "") -> None:
    index = next(_ids)
    call = LlmCall(
        timestamp_ns=(at - _EPOCH) // timedelta(microseconds=1) * 1000,
        trace_id=f"{tenant}-{index}",
        span_id=f"{index:016x}",
        tenant=tenant,
        user_id=user,
        response_model="gpt-4o-mini",
        total_cost=Decimal(usd),
        cost_source="collector",
    )
    insert_llm_calls(client, [call])


def fire(client, budgets: BudgetFile, evaluator: AlertEvaluator, clock: Clock) -> list[tuple[str, str]]:
    alerts = evaluator.evaluate(read_status(client, budgets, clock.now))
    return [(alert.budget, f"{alert.threshold:g}") for alert in alerts]


def test_each_threshold_fires_once_per_window_and_again_in_the_next(client, webhook):
    budgets = BudgetFile(
        budgets=(Budget("t1-day", Scope(tenant="t1"), Window("day"), Decimal(10)),), webhook=webhook.url
    )
    clock = Clock(YESTERDAY + timedelta(hours=10))
    evaluator = AlertEvaluator(client, webhook=Webhook(webhook.url), clock=clock)

    spend(client, "t1", YESTERDAY + timedelta(hours=1), "4")
    assert fire(client, budgets, evaluator, clock) == []
    spend(client, "t1", YESTERDAY + timedelta(hours=2), "1.5")
    assert fire(client, budgets, evaluator, clock) == [("t1-day", "0.5")]
    assert fire(client, budgets, evaluator, clock) == []
    spend(client, "t1", YESTERDAY + timedelta(hours=3), "4")
    assert fire(client, budgets, evaluator, clock) == [("t1-day", "0.8")]
    spend(client, "t1", YESTERDAY + timedelta(hours=4), "1")
    assert fire(client, budgets, evaluator, clock) == [("t1-day", "1")]
    assert fire(client, budgets, evaluator, clock) == []

    restarted = AlertEvaluator(client, webhook=Webhook(webhook.url), clock=clock)
    assert fire(client, budgets, restarted, clock) == []

    clock.now = TODAY + timedelta(hours=10)
    assert fire(client, budgets, restarted, clock) == []  # a new window starts at zero
    spend(client, "t1", TODAY + timedelta(hours=1), "9")
    assert fire(client, budgets, restarted, clock) == [("t1-day", "0.5"), ("t1-day", "0.8")]

    bodies = webhook.bodies
    assert [(body["budget"], body["threshold"]) for body in bodies] == [
        ("t1-day", 0.5),
        ("t1-day", 0.8),
        ("t1-day", 1.0),
        ("t1-day", 0.5),
        ("t1-day", 0.8),
    ]
    assert bodies[0] == {
        "budget": "t1-day",
        "key": {},
        "threshold": 0.5,
        "spent": "5.5",
        "limit": "10",
        "window": {"start": _iso(YESTERDAY), "end": _iso(TODAY)},
        "fired_at": _iso(YESTERDAY + timedelta(hours=10)),
        "action": "warn",
    }
    assert bodies[3]["window"] == {"start": _iso(TODAY), "end": _iso(TODAY + timedelta(days=1))}


def test_a_rolling_window_alert_is_quiet_for_the_window_length_then_may_fire_again(client):
    budgets = BudgetFile(budgets=(Budget("t2-2h", Scope(tenant="t2"), Window("rolling", hours=2), Decimal(1)),))
    start = YESTERDAY + timedelta(hours=5)
    clock = Clock(start + timedelta(minutes=1))
    evaluator = AlertEvaluator(client, clock=clock)

    spend(client, "t2", start, "0.6")
    assert fire(client, budgets, evaluator, clock) == [("t2-2h", "0.5")]
    clock.now = start + timedelta(hours=1, minutes=59)
    assert fire(client, budgets, evaluator, clock) == []  # still over, still the window it fired in
    spend(client, "t2", start + timedelta(hours=2, minutes=1), "0.7")
    clock.now = start + timedelta(hours=2, minutes=2)
    assert fire(client, budgets, evaluator, clock) == [("t2-2h", "0.5")]


def test_each_key_of_a_per_user_budget_has_its_own_alerts(client):
    budgets = BudgetFile(
        budgets=(
            Budget("t3-users", Scope(tenant="t3"), Window("day"), Decimal(1), per=("user",), alerts=(Decimal(1),)),
        )
    )
    clock = Clock(YESTERDAY + timedelta(hours=12))
    evaluator = AlertEvaluator(client, clock=clock)
    spend(client, "t3", YESTERDAY + timedelta(hours=1), "1.2", user="ana")
    spend(client, "t3", YESTERDAY + timedelta(hours=1), "0.4", user="bo")
    spend(client, "t3", YESTERDAY + timedelta(hours=2), "1", user="cy")

    alerts = evaluator.evaluate(read_status(client, budgets, clock.now))

    assert sorted((alert.key["user"], alert.spent_usd) for alert in alerts) == [("ana", Decimal("1.2")), ("cy", 1)]
    assert evaluator.evaluate(read_status(client, budgets, clock.now)) == []


def test_an_alert_is_logged_with_budget_key_spend_and_limit(client, caplog):
    budgets = BudgetFile(
        budgets=(Budget("t4", Scope(tenant="t4"), Window("day"), Decimal(2), per=("tenant",), alerts=(0.5,)),)
    )
    clock = Clock(YESTERDAY + timedelta(hours=12))
    spend(client, "t4", YESTERDAY + timedelta(hours=1), "1.25")

    with caplog.at_level(logging.WARNING, logger="llmledger.collector.budgets"):
        AlertEvaluator(client, clock=clock).evaluate(read_status(client, budgets, clock.now))

    (record,) = [r for r in caplog.records if r.name.startswith("llmledger.collector.budgets")]
    assert record.getMessage() == (
        f"budget t4 (tenant=t4) reached 50% of its limit: spent $1.25 of $2 in the window "
        f"{_iso(YESTERDAY)} to {_iso(TODAY)}"
    )


def test_a_failing_webhook_is_retried_with_backoff_until_it_accepts(client, webhook):
    budgets = BudgetFile(budgets=(Budget("t5", Scope(tenant="t5"), Window("day"), Decimal(1), alerts=(1,)),))
    clock = Clock(YESTERDAY + timedelta(hours=12))
    spend(client, "t5", YESTERDAY + timedelta(hours=1), "3")
    webhook.fail_next(2)

    sender = Webhook(webhook.url, attempts=3, backoff=0.01)
    AlertEvaluator(client, webhook=sender, clock=clock).evaluate(read_status(client, budgets, clock.now))

    assert webhook.attempts == 3
    assert [body["budget"] for body in webhook.bodies] == ["t5"]


def test_an_unreachable_webhook_is_logged_and_the_alert_still_counts_as_fired(client, caplog):
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}/hook"
    budgets = BudgetFile(budgets=(Budget("t6", Scope(tenant="t6"), Window("day"), Decimal(1), alerts=(1,)),))
    clock = Clock(YESTERDAY + timedelta(hours=12))
    spend(client, "t6", YESTERDAY + timedelta(hours=1), "2")
    evaluator = AlertEvaluator(client, webhook=Webhook(dead, attempts=2, backoff=0.01), clock=clock)

    with caplog.at_level(logging.ERROR, logger="llmledger.collector"):
        assert len(evaluator.evaluate(read_status(client, budgets, clock.now))) == 1

    assert any("failed after 2 attempt(s)" in record.getMessage() for record in caplog.records)
    assert evaluator.evaluate(read_status(client, budgets, clock.now)) == []


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@pytest.fixture(autouse=True)
def _isolated(client):
    """Alerts of earlier tests stay in the table; each test's budget names are its own, so they never collide."""
    return client
