# SPDX-License-Identifier: Apache-2.0
"""Alert channels where teams already look: Slack, Microsoft Teams and e-mail, beside the generic JSON webhook.

A channel takes any notice with `message()` (one line, for logs and chat) and `document()` (its fields, the
generic webhook's JSON body), and optionally `title()`: budget alerts, spend spikes, price changes alike.
`send(notice)` says whether the channel took it; failures are retried (webhooks: with backoff; e-mail: once
more), then logged and dropped, never raised. `stop()` cuts retries short when the collector stops.

* `Webhook(url)` — the generic JSON webhook: the notice's `document()` as the body.
* `SlackWebhook(url)` — a Slack incoming webhook: `text` (the message, shown in notifications) and Block Kit
  blocks: a header, the message, and the notice's fields two to a row.
* `TeamsWebhook(url)` — a Teams Workflows (or Office connector) webhook: a message with one Adaptive Card
  (title, message, a FactSet of the fields).
* `EmailAlerts(settings)` — one mail per notice over SMTP (STARTTLS and login when configured), subject
  `[llmledger] <title>`, the message, the fields and the JSON document as plain text.
* `Channels([...])` — several channels as one; `channels_for(budget_file)` builds them from the budget file.
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
import threading
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from email.message import EmailMessage
from typing import Any, Protocol

from llmledger._core.alert_settings import EmailAlerts as EmailSettings
from llmledger._core.budget_file import BudgetFile

_log = logging.getLogger(__name__)


class Notice(Protocol):
    def document(self) -> dict[str, Any]: ...

    def message(self) -> str: ...


class Channel(Protocol):
    def send(self, notice: Notice) -> bool: ...

    def stop(self) -> None: ...


def title_of(notice: Notice) -> str:
    """The notice's title, for headers and subjects: its `title()`, else its message up to the first colon."""
    title = getattr(notice, "title", None)
    if callable(title):
        return str(title())
    head = notice.message().split(": ", 1)[0]
    return head[:1].upper() + head[1:]


def facts(notice: Notice) -> list[tuple[str, str]]:
    """The notice's document as (name, text) pairs, nested values flattened with dots."""
    found: list[tuple[str, str]] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), item)
        elif isinstance(value, list | tuple):
            found.append((prefix, ", ".join(map(str, value))))
        else:
            found.append((prefix, "" if value is None else str(value)))

    walk("", notice.document())
    return found


class _JsonWebhook:
    """POSTs `payload(notice)` as JSON, `attempts` tries, `backoff` seconds doubling between them."""

    kind = "webhook"

    def __init__(self, url: str, *, attempts: int = 4, backoff: float = 1.0, timeout: float = 5.0) -> None:
        self.url = url
        self.attempts = attempts
        self.backoff = backoff
        self.timeout = timeout
        self._stopping = threading.Event()

    def payload(self, notice: Notice) -> dict[str, Any]:
        raise NotImplementedError

    def send(self, notice: Notice) -> bool:
        body = json.dumps(self.payload(notice)).encode()
        delay = self.backoff
        problem = ""
        attempt = 0
        for attempt in range(1, self.attempts + 1):
            request = urllib.request.Request(
                self.url, data=body, method="POST", headers={"Content-Type": "application/json"}
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    if 200 <= response.status < 300:
                        return True
                    problem = f"HTTP {response.status}"
            except urllib.error.HTTPError as error:
                problem = f"HTTP {error.code}"
            except (urllib.error.URLError, OSError) as error:
                problem = str(getattr(error, "reason", error))
            if attempt < self.attempts and not self._stopping.wait(delay):
                delay *= 2
                continue
            break
        _log.error(
            "%s alert to %s failed after %d attempt(s) (%s); dropped: %s",
            self.kind, self.url, attempt, problem, notice.message(),
        )  # fmt: skip
        return False

    def stop(self) -> None:
        self._stopping.set()


class Webhook(_JsonWebhook):
    """The generic JSON webhook: the notice's document as it is (a budget alert's fields, a price change's)."""

    kind = "webhook"

    def payload(self, notice: Notice) -> dict[str, Any]:
        return notice.document()


class SlackWebhook(_JsonWebhook):
    kind = "Slack"

    def payload(self, notice: Notice) -> dict[str, Any]:
        fields = [{"type": "mrkdwn", "text": f"*{name}*\n{_slack_escape(text)}"} for name, text in facts(notice)]
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": title_of(notice)[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": _slack_escape(notice.message())[:3000]}},
        ]
        for start in range(0, len(fields), 10):  # Slack takes at most ten fields a section
            blocks.append({"type": "section", "fields": fields[start : start + 10]})
        return {"text": notice.message(), "blocks": blocks}


class TeamsWebhook(_JsonWebhook):
    kind = "Teams"

    def payload(self, notice: Notice) -> dict[str, Any]:
        card = {
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.4",
            "body": [
                {"type": "TextBlock", "text": title_of(notice), "weight": "Bolder", "size": "Medium", "wrap": True},
                {"type": "TextBlock", "text": notice.message(), "wrap": True},
                {"type": "FactSet", "facts": [{"title": name, "value": text} for name, text in facts(notice)]},
            ],
        }
        return {
            "type": "message",
            "attachments": [
                {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
            ],
        }


class EmailAlerts:
    """One plain-text mail per notice over SMTP; a failure is tried once more, then logged."""

    def __init__(self, settings: EmailSettings, *, timeout: float = 10.0) -> None:
        self.settings = settings
        self.timeout = timeout

    def compose(self, notice: Notice) -> EmailMessage:
        mail = EmailMessage()
        mail["Subject"] = f"[llmledger] {title_of(notice)}"
        mail["From"] = self.settings.sender
        mail["To"] = ", ".join(self.settings.recipients)
        lines = [notice.message(), "", *(f"{name}: {text}" for name, text in facts(notice))]
        lines += ["", "As JSON:", json.dumps(notice.document(), indent=2)]
        mail.set_content("\n".join(lines) + "\n")
        return mail

    def send(self, notice: Notice) -> bool:
        mail = self.compose(notice)
        problem = ""
        for _attempt in range(2):
            try:
                with smtplib.SMTP(self.settings.host, self.settings.port, timeout=self.timeout) as smtp:
                    if self.settings.starttls:
                        smtp.starttls()
                    if self.settings.username and self.settings.password_env:
                        smtp.login(self.settings.username, os.environ.get(self.settings.password_env, ""))
                    smtp.send_message(mail)
                return True
            except (smtplib.SMTPException, OSError) as error:
                problem = str(error)
        where = f"{self.settings.host}:{self.settings.port}"
        _log.error("e-mail alert through %s failed (%s); dropped: %s", where, problem, notice.message())
        return False

    def stop(self) -> None:
        pass


class Channels:
    """Several channels as one: `send` delivers to each and says whether all took it."""

    def __init__(self, channels: Iterable[Channel]) -> None:
        self.channels: Sequence[Channel] = tuple(channels)

    def send(self, notice: Notice) -> bool:
        return all([channel.send(notice) for channel in self.channels])  # every one, even after a failure

    def stop(self) -> None:
        for channel in self.channels:
            channel.stop()

    def __bool__(self) -> bool:
        return bool(self.channels)


def channels_for(budget_file: BudgetFile) -> Channels:
    """The channels the budget file names: webhook, slack, teams and email, in that order."""
    settings = budget_file.alerting
    found: list[Channel] = []
    if budget_file.webhook:
        found.append(Webhook(budget_file.webhook))
    if settings.slack:
        found.append(SlackWebhook(settings.slack))
    if settings.teams:
        found.append(TeamsWebhook(settings.teams))
    if settings.email:
        found.append(EmailAlerts(settings.email))
    return Channels(found)


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
