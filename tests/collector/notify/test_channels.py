# SPDX-License-Identifier: Apache-2.0
"""Slack, Teams and e-mail get alerts in the shape each shows; a failing channel is retried, then logged."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal

from llmledger._core.alert_settings import EmailAlerts as EmailSettings
from llmledger._core.budget_file import parse
from llmledger.collector.budgets import Alert
from llmledger.collector.notify import Channels, EmailAlerts, SlackWebhook, TeamsWebhook, channels_for
from llmledger.collector.notify.spend_rate import SpendSpike

ALERT = Alert(
    budget="acme-monthly",
    key={"user": "u-17"},
    threshold=Decimal("0.8"),
    spent_usd=Decimal("201.5"),
    limit_usd=Decimal("250"),
    window_start=datetime(2026, 12, 1, tzinfo=UTC),
    window_end=datetime(2027, 1, 1, tzinfo=UTC),
    fired_at=datetime(2026, 12, 7, 3, 0, tzinfo=UTC),
)


def test_slack_gets_text_for_notifications_and_blocks_with_the_fields(hooks):
    assert SlackWebhook(hooks.url).send(ALERT)
    (body,) = hooks.bodies
    assert body["text"] == ALERT.message()
    header, section, fields = body["blocks"]
    title = "Budget acme-monthly (user=u-17) reached 80% of its limit"
    assert header == {"type": "header", "text": {"type": "plain_text", "text": title}}
    assert section["text"] == {"type": "mrkdwn", "text": ALERT.message()}
    assert {"type": "mrkdwn", "text": "*spent*\n201.5"} in fields["fields"]
    assert {"type": "mrkdwn", "text": "*key.user*\nu-17"} in fields["fields"]


def test_slack_markup_in_a_value_is_shown_as_text(hooks):
    spike = SpendSpike({"service": "<!channel> & co"}, Decimal(5), Decimal(1), Decimal(3), 24, ALERT.fired_at)
    assert SlackWebhook(hooks.url).send(spike)
    (body,) = hooks.bodies
    assert "&lt;!channel&gt; &amp; co" in body["blocks"][1]["text"]["text"]
    assert body["blocks"][0]["text"]["text"] == "LLM spend spike (service=<!channel> & co)"  # plain_text: as is


def test_teams_gets_an_adaptive_card(hooks):
    assert TeamsWebhook(hooks.url).send(ALERT)
    (body,) = hooks.bodies
    assert body["type"] == "message"
    (attachment,) = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    title, text, facts = card["body"]
    assert (title["text"], text["text"]) == (
        "Budget acme-monthly (user=u-17) reached 80% of its limit",
        ALERT.message(),
    )
    assert {"title": "limit", "value": "250"} in facts["facts"]
    assert {"title": "window.start", "value": "2026-12-01T00:00:00.000Z"} in facts["facts"]


def test_a_failing_webhook_is_retried_then_delivers(hooks):
    hooks.fail_next(2)
    assert TeamsWebhook(hooks.url, attempts=3, backoff=0.01).send(ALERT)
    assert len(hooks.bodies) == 1


def test_a_dead_channel_is_logged_never_raised(caplog):
    with caplog.at_level(logging.ERROR):
        assert not SlackWebhook("http://127.0.0.1:9/hook", attempts=2, backoff=0.01).send(ALERT)
    assert "Slack alert to http://127.0.0.1:9/hook failed" in caplog.text
    assert ALERT.message() in caplog.text


def test_email_goes_over_smtp_with_the_message_fields_and_json(smtp):
    settings = EmailSettings("127.0.0.1", smtp.port, "llmledger@example.com", ("finops@example.com", "cto@example.com"))
    spike = SpendSpike({"service": "search"}, Decimal("12.5"), Decimal("1.25"), Decimal(3), 24, ALERT.fired_at)
    assert EmailAlerts(settings).send(spike)
    ((sender, recipients, mail),) = smtp.mails
    assert (sender, recipients) == ("llmledger@example.com", ["finops@example.com", "cto@example.com"])
    assert mail["Subject"] == "[llmledger] LLM spend spike (service=search)"
    assert mail["To"] == "finops@example.com, cto@example.com"
    text = mail.get_payload(decode=True).decode()
    assert spike.message() in text
    assert "last_hour_usd: 12.5" in text
    assert '"alert": "spend_rate"' in text


def test_an_unreachable_smtp_server_is_logged(caplog):
    settings = EmailSettings("127.0.0.1", 9, "llmledger@example.com", ("finops@example.com",))
    with caplog.at_level(logging.ERROR):
        assert not EmailAlerts(settings, timeout=2).send(ALERT)
    assert "e-mail alert through 127.0.0.1:9 failed" in caplog.text


def test_the_budget_file_names_the_channels(hooks, smtp):
    budget_file = parse(
        {
            "budgets": [],
            "webhook": hooks.url,
            "slack": hooks.url,
            "teams": hooks.url,
            "email": {"smtp": f"127.0.0.1:{smtp.port}", "from": "a@example.com", "to": "b@example.com"},
        },
        "budgets.yaml",
    )
    channels = channels_for(budget_file)
    assert [type(channel).__name__ for channel in channels.channels] == [
        "Webhook",
        "SlackWebhook",
        "TeamsWebhook",
        "EmailAlerts",
    ]
    assert channels.send(ALERT)
    generic, slack, teams = hooks.bodies
    assert generic == ALERT.document()
    assert "blocks" in slack and teams["type"] == "message"
    assert len(smtp.mails) == 1


def test_one_failing_channel_does_not_stop_the_others(hooks):
    channels = Channels([SlackWebhook("http://127.0.0.1:9/x", attempts=1), TeamsWebhook(hooks.url)])
    assert not channels.send(ALERT)
    assert len(hooks.bodies) == 1
