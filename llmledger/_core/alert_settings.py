# SPDX-License-Identifier: Apache-2.0
"""Where the collector's alerts go, and the spend-rate alert: the alert keys of the budget file.

```yaml
webhook: http://alerts.internal/llm          # generic JSON (each alert's document)
slack: https://hooks.slack.com/services/…    # a Slack incoming webhook: Block Kit message
teams: https://…/workflows/…                 # a Teams Workflows (or incoming) webhook: an Adaptive Card
email:
  smtp: smtp.internal:587                    # host[:port], port 25 by default
  from: llmledger@example.com
  to: [finops@example.com]                   # one address or a list
  starttls: true                             # default false
  username: llmledger                        # optional; with password_env
  password_env: LLMLEDGER_SMTP_PASSWORD      # the password is read from this variable, never from the file
spend_rate:
  multiple: 3                                # fire when the last hour's spend > 3 × the baseline's hourly mean
  baseline_hours: 24                         # the hours before the last one [24]
  min_usd: 1                                 # and the last hour spent at least this much [1]
  per: [service]                             # optional: one episode per value of these dimensions
```

Only the collector acts on these; the instrumentation reads the same file for its budgets and ignores them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

KEYS = frozenset({"slack", "teams", "email", "spend_rate"})
_SPEND_DIMENSIONS = ("tenant", "service", "feature", "model")
_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+$")
_EMAIL_KEYS = frozenset({"smtp", "from", "to", "starttls", "username", "password_env"})
_RATE_KEYS = frozenset({"multiple", "baseline_hours", "min_usd", "per"})


@dataclass(frozen=True, slots=True)
class EmailAlerts:
    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    starttls: bool = False
    username: str | None = None
    password_env: str | None = None


@dataclass(frozen=True, slots=True)
class SpendRate:
    multiple: Decimal
    baseline_hours: int = 24
    min_usd: Decimal = Decimal(1)
    per: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AlertSettings:
    slack: str | None = None
    teams: str | None = None
    email: EmailAlerts | None = None
    spend_rate: SpendRate | None = None


def parse(document: Mapping[str, Any]) -> AlertSettings:
    """The alert keys of a budget file document; ValueError naming the key and what it takes."""
    urls = {}
    for key in ("slack", "teams"):
        value = document.get(key)
        if value is not None and not (isinstance(value, str) and value.startswith(("http://", "https://"))):
            raise ValueError(f"{key} must be an http(s) webhook URL, got {value!r}")
        urls[key] = value
    email = document.get("email")
    rate = document.get("spend_rate")
    return AlertSettings(
        slack=urls["slack"],
        teams=urls["teams"],
        email=None if email is None else _email(email),
        spend_rate=None if rate is None else _spend_rate(rate),
    )


def _mapping(value: Any, name: str, allowed: frozenset[str], expected: str) -> Mapping[str, Any]:
    """`value`, a mapping of none but the `allowed` keys; ValueError naming `name` and what it takes (`expected`),
    or its unknown keys."""
    if not isinstance(value, Mapping):
        raise ValueError(f"{name} must be a mapping with {expected}")
    unknown = sorted(map(str, set(value) - allowed))
    if unknown:
        raise ValueError(f"{name}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
    return value


def _email(document: Any) -> EmailAlerts:
    value = _mapping(document, "email", _EMAIL_KEYS, "smtp, from and to")
    smtp = value.get("smtp")
    if not isinstance(smtp, str) or not smtp.strip():
        raise ValueError("email.smtp must be host or host:port of an SMTP server")
    host, _, port_text = smtp.strip().rpartition(":") if ":" in smtp else (smtp.strip(), "", "25")
    if not port_text.isdigit() or not 0 < int(port_text) < 65536 or not host:
        raise ValueError(f"email.smtp {smtp!r} is not host or host:port")
    sender = value.get("from")
    recipients = value.get("to")
    recipients = [recipients] if isinstance(recipients, str) else recipients
    if not isinstance(sender, str) or not _ADDRESS.match(sender):
        raise ValueError(f"email.from must be an e-mail address, got {sender!r}")
    if not isinstance(recipients, list) or not recipients:
        raise ValueError("email.to must be an e-mail address or a list of them")
    for address in recipients:
        if not isinstance(address, str) or not _ADDRESS.match(address):
            raise ValueError(f"email.to: {address!r} is not an e-mail address")
    starttls = value.get("starttls", False)
    if not isinstance(starttls, bool):
        raise ValueError(f"email.starttls must be true or false, got {starttls!r}")
    username, password_env = value.get("username"), value.get("password_env")
    if (username is None) != (password_env is None):
        raise ValueError("email: give username and password_env together (the password is read from that variable)")
    return EmailAlerts(host, int(port_text), sender, tuple(recipients), starttls, username, password_env)


def _spend_rate(document: Any) -> SpendRate:
    value = _mapping(document, "spend_rate", _RATE_KEYS, "multiple (and optionally baseline_hours, min_usd, per)")
    multiple = _decimal(value.get("multiple"), "spend_rate.multiple")
    if multiple <= 1:
        raise ValueError(f"spend_rate.multiple must be more than 1, got {multiple}")
    hours = value.get("baseline_hours", 24)
    if not isinstance(hours, int) or isinstance(hours, bool) or not 1 <= hours <= 24 * 90:
        raise ValueError(f"spend_rate.baseline_hours must be a whole number of hours from 1 to 2160, got {hours!r}")
    min_usd = _decimal(value.get("min_usd", 1), "spend_rate.min_usd")
    if min_usd < 0:
        raise ValueError(f"spend_rate.min_usd must not be negative, got {min_usd}")
    per = value.get("per", [])
    if not isinstance(per, list) or any(dim not in _SPEND_DIMENSIONS for dim in per) or len(set(per)) != len(per):
        raise ValueError(f"spend_rate.per must list distinct dimensions of {', '.join(_SPEND_DIMENSIONS)}")
    return SpendRate(multiple, hours, min_usd, tuple(per))


def _decimal(value: Any, name: str) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{name} must be a number, got {value!r}")
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return number
