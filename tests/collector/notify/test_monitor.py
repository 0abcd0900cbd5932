# SPDX-License-Identifier: Apache-2.0
"""The collector's budget loop sends its alerts to every channel of the budget file, and runs the spend-rate
alert when the file asks for one."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from llmledger._core.budget_file import parse
from llmledger._core.prices import lookup
from llmledger.collector.budgets import BudgetMonitor
from llmledger.collector.repricing.price_changes import PriceChange


def test_a_budget_alert_and_a_spend_spike_reach_slack_teams_and_email(client, hooks, smtp):
    budget_file = parse(
        {
            "budgets": [{"name": "notify-day", "scope": {"tenant": "notify"}, "window": "day", "limit_usd": 1}],
            "slack": hooks.url,
            "teams": hooks.url,
            "email": {"smtp": f"127.0.0.1:{smtp.port}", "from": "llmledger@example.com", "to": "finops@example.com"},
            "spend_rate": {"multiple": 3, "min_usd": 0.5, "per": ["tenant"]},
        },
        "budgets.yaml",
    )
    now = datetime.now(UTC)
    client.insert(
        "llm_calls",
        [[now - timedelta(minutes=1), uuid.uuid4().hex, uuid.uuid4().hex[:16], "notify", Decimal("0.9"), "collector"]],
        column_names=["Timestamp", "TraceId", "SpanId", "Tenant", "TotalCost", "CostSource"],
    )
    monitor = BudgetMonitor(client, budget_file)
    monitor.evaluate()
    monitor.stop()

    slack = [body for body in hooks.bodies if "blocks" in body]
    teams = [body for body in hooks.bodies if body.get("type") == "message"]
    titles = sorted(body["blocks"][0]["text"]["text"] for body in slack)
    expected = [
        "Budget notify-day reached 50% of its limit",
        "Budget notify-day reached 80% of its limit",
        "LLM spend spike (tenant=notify)",
    ]
    assert titles == expected
    assert len(teams) == 3
    assert sorted(mail["Subject"] for _, _, mail in smtp.mails) == [f"[llmledger] {title}" for title in expected]
    spike = next(body for body in slack if body["blocks"][0]["text"]["text"].startswith("LLM"))
    assert spike["text"] == (
        "LLM spend spike (tenant=notify): $0.9 in the last hour, after no spend in the 24 hours before; alert at 3×"
    )


def test_a_price_change_reaches_every_channel_of_the_budget_file(client, hooks, smtp):
    """The collector gives its price watch the budget monitor's channels (service.py): a change reaches each."""
    budget_file = parse(
        {
            "budgets": [{"name": "any", "window": "day", "limit_usd": 1}],
            "webhook": hooks.url,
            "slack": hooks.url,
            "email": {"smtp": f"127.0.0.1:{smtp.port}", "from": "llmledger@example.com", "to": "finops@example.com"},
        },
        "budgets.yaml",
    )
    old = lookup("openai", "gpt-4o-mini", datetime(2025, 6, 1, tzinfo=UTC))
    assert old is not None
    new = replace(old, input=Decimal("0.12"), source="override", version="discount.yaml:1")
    now = datetime.now(UTC)
    change = PriceChange("openai", "gpt-4o-mini", old, new, calls=4, last_call=now, noticed_at=now)
    monitor = BudgetMonitor(client, budget_file)
    try:
        assert monitor.channels.send(change)
    finally:
        monitor.stop()

    generic = [body for body in hooks.bodies if body.get("kind") == "price_change"]
    slack = [body for body in hooks.bodies if "blocks" in body]
    assert [body["new"]["input"] for body in generic] == ["0.12"]
    assert [body["blocks"][0]["text"]["text"] for body in slack] == ["Price change: openai gpt-4o-mini"]
    assert [mail["Subject"] for _, _, mail in smtp.mails] == ["[llmledger] Price change: openai gpt-4o-mini"]
