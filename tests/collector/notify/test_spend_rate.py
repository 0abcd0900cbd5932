# SPDX-License-Identifier: Apache-2.0
"""The spend-rate alert fires when the last hour's spend passes a multiple of its trailing baseline, once per
episode (across a restart too), again only after the spend fell back; with `per`, each value on its own."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from llmledger._core.alert_settings import SpendRate
from llmledger._core.budget_file import BudgetFileError, parse
from llmledger.collector.notify import SpendRateWatch

NOW = datetime(2026, 12, 7, 3, 10, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Sent:
    def __init__(self) -> None:
        self.notices: list = []  # type: ignore[type-arg]

    def send(self, notice) -> bool:  # type: ignore[no-untyped-def]
        self.notices.append(notice)
        return True

    def stop(self) -> None:
        pass


def spend(client, at: datetime, usd: str, service: str = "search") -> None:  # type: ignore[no-untyped-def]
    client.insert(
        "llm_calls",
        [[at, uuid.uuid4().hex, uuid.uuid4().hex[:16], service, Decimal(usd), "collector"]],
        column_names=["Timestamp", "TraceId", "SpanId", "ServiceName", "TotalCost", "CostSource"],
    )


@pytest.fixture(scope="module")
def baseline(client):  # type: ignore[no-untyped-def]
    """$0.10 an hour for the day before NOW's last hour, for services search and billing."""
    for hours in range(2, 27):
        for service in ("search", "billing"):
            spend(client, NOW - timedelta(hours=hours), "0.10", service)
    return client


def test_a_spike_fires_once_per_episode_and_again_after_it_ended(baseline):
    client = baseline
    client.command("TRUNCATE TABLE IF EXISTS llm_spend_rate_alerts")
    clock, sent = Clock(NOW), Sent()
    watch = SpendRateWatch(client, SpendRate(Decimal(3), 24, Decimal("0.5")), sent, clock=clock)
    assert watch.evaluate() == []  # $0.20/h of baseline, nothing in the last hour

    for minutes in (5, 15, 25):
        spend(client, NOW - timedelta(minutes=minutes), "0.40")
    (spike,) = watch.evaluate()
    assert spike.last_hour_usd == Decimal("1.2")
    # The baseline is the 24 hours before the last hour's first quarter-hour (02:15): 23 of the hourly calls, of
    # both services (no `per`).
    assert spike.baseline_usd_per_hour == Decimal("4.6") / 24
    assert spike.message() == (
        "LLM spend spike: $1.2 in the last hour, 6.3× the hourly mean of the 24 hours before ($0.191667/h); alert at 3×"
    )
    assert sent.notices == [spike]
    assert watch.evaluate() == []  # the same episode
    assert SpendRateWatch(client, watch.settings, sent, clock=clock).evaluate() == []  # restarted: still the same

    clock.now = NOW + timedelta(hours=2)  # the spike is outside the last hour: the episode ends
    assert watch.evaluate() == []
    events = client.query("SELECT Event FROM llm_spend_rate_alerts ORDER BY At").result_rows
    assert events == [("fired",), ("ended",)]

    spend(client, clock.now - timedelta(minutes=3), "2.00")
    (again,) = watch.evaluate()
    assert again.last_hour_usd == Decimal("2")
    assert len(sent.notices) == 2


def test_below_min_usd_nothing_fires(baseline):
    client = baseline
    client.command("TRUNCATE TABLE IF EXISTS llm_spend_rate_alerts")
    watch = SpendRateWatch(client, SpendRate(Decimal(3), 24, Decimal(100)), Sent(), clock=Clock(NOW))
    assert watch.evaluate() == []


def test_per_service_each_has_its_own_episode(baseline):
    client = baseline
    client.command("TRUNCATE TABLE IF EXISTS llm_spend_rate_alerts")
    later = NOW + timedelta(days=1)
    for hours in range(2, 27):
        spend(client, later - timedelta(hours=hours), "0.10", "search")
        spend(client, later - timedelta(hours=hours), "0.10", "billing")
    spend(client, later - timedelta(minutes=10), "0.25", "search")  # 2.5× its own baseline: no spike
    spend(client, later - timedelta(minutes=10), "0.90", "billing")  # 9×
    sent = Sent()
    watch = SpendRateWatch(client, SpendRate(Decimal(3), 24, Decimal("0.1"), ("service",)), sent, clock=Clock(later))
    (spike,) = watch.evaluate()
    assert spike.key == {"service": "billing"}
    assert spike.document()["key"] == {"service": "billing"}
    assert spike.title() == "LLM spend spike (service=billing)"


@pytest.mark.parametrize(
    ("spend_rate", "message"),
    [
        ({"multiple": 1}, "spend_rate.multiple must be more than 1"),
        ({"multiple": "x"}, "spend_rate.multiple must be a number"),
        ({"multiple": 3, "baseline_hours": 0}, "spend_rate.baseline_hours must be a whole number"),
        ({"multiple": 3, "per": ["user"]}, "spend_rate.per must list distinct dimensions of tenant, service"),
        ({"multiple": 3, "window": 2}, "spend_rate: unknown key"),
    ],
)
def test_a_bad_spend_rate_setting_is_named(spend_rate, message):
    with pytest.raises(BudgetFileError, match=f"budgets.yaml: {message}"):
        parse({"budgets": [], "spend_rate": spend_rate}, "budgets.yaml")


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ({"smtp": "mail:x", "from": "a@b.c", "to": "d@e.f"}, "email.smtp 'mail:x' is not host or host:port"),
        ({"smtp": "mail", "from": "nobody", "to": "d@e.f"}, "email.from must be an e-mail address"),
        ({"smtp": "mail", "from": "a@b.c", "to": []}, "email.to must be an e-mail address or a list"),
        (
            {"smtp": "mail", "from": "a@b.c", "to": "d@e.f", "username": "u"},
            "email: give username and password_env together",
        ),
    ],
)
def test_a_bad_email_setting_is_named(email, message):
    with pytest.raises(BudgetFileError, match=f"budgets.yaml: {message}"):
        parse({"budgets": [], "email": email}, "budgets.yaml")
