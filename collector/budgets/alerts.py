# SPDX-License-Identifier: Apache-2.0
"""Threshold alerts: once per budget, key, threshold and window, to the log and an optional webhook.

A threshold is reached when spent ≥ threshold × limit (compared as decimals). Fired alerts are written to
`llm_budget_alerts` before they are announced, and read back at start, so a restarted collector does not
fire again; the cost of that order is that a crash between the write and the webhook loses that webhook.

"Once per window": a fired alert silences its (budget, key, threshold) until the window it fired in ends; for
a calendar window that is the end of the day or month, and for a rolling window of N hours (which always ends
now) it is N hours after it fired. Rule: a new alert is suppressed while an earlier one's window end lies
after the current window's start.

Several collectors evaluating the same database fire each alert once: before announcing one, a collector claims
it, inserting it with its own `ClaimedBy` under a deduplication token of budget, key, threshold and window start
(a second collector's insert of the same claim is dropped by ClickHouse), then reads back the claims that silence
it; it announces the alert only when the earliest of them is its own.

Webhook (`notify.channels.Webhook`): a JSON POST of `Alert.document()`; a failure (connection error or non-2xx
answer) is retried with exponential backoff, then logged and dropped.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from clickhouse_connect.driver.client import Client

from ..exporters.clickhouse.client import translate_errors
from ..exporters.clickhouse.migrations import quote_identifier
from ..notify.channels import Webhook
from .status import BudgetStatus, decimal_text, iso, utc

ALERTS_TABLE = "llm_budget_alerts"
_log = logging.getLogger(__name__)

_Identity = tuple[str, tuple[tuple[str, str], ...], Decimal]


@dataclass(frozen=True, slots=True)
class Alert:
    budget: str
    key: dict[str, str]
    threshold: Decimal
    spent_usd: Decimal
    limit_usd: Decimal
    window_start: datetime
    window_end: datetime
    fired_at: datetime
    action: str = "warn"

    def document(self) -> dict[str, Any]:
        """The webhook body."""
        return {
            "budget": self.budget,
            "key": dict(self.key),
            "threshold": float(self.threshold),
            "spent": decimal_text(self.spent_usd),
            "limit": decimal_text(self.limit_usd),
            "window": {"start": iso(self.window_start), "end": iso(self.window_end)},
            "fired_at": iso(self.fired_at),
            "action": self.action,
        }

    def message(self) -> str:
        key = " ".join(f"{dim}={value}" for dim, value in self.key.items())
        percent = decimal_text(self.threshold * 100)
        return (
            f"budget {self.budget}{f' ({key})' if key else ''} reached {percent}% of its limit: "
            f"spent ${decimal_text(self.spent_usd)} of ${decimal_text(self.limit_usd)} in the window "
            f"{iso(self.window_start)} to {iso(self.window_end)}"
        )


class AlertEvaluator:
    """Decides which thresholds fire for a set of statuses, records them, logs them and sends the webhook."""

    def __init__(
        self,
        client: Client,
        *,
        webhook: Webhook | None = None,
        database: str | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client = client
        self.webhook = webhook
        self.clock = clock
        self._table = f"{quote_identifier(database)}.{ALERTS_TABLE}" if database else ALERTS_TABLE
        self._quiet_until: dict[_Identity, datetime] | None = None  # loaded on first use
        self.claimant = uuid.uuid4().hex  # this evaluator's ClaimedBy

    def evaluate(self, statuses: Iterable[BudgetStatus]) -> list[Alert]:
        """Fire every threshold newly reached in `statuses`; the alerts fired."""
        quiet = self._load()
        fired: list[Alert] = []
        now = self.clock()
        for status in statuses:
            for threshold in status.alerts:
                if status.spent_usd < threshold * status.limit_usd or (status.limit_usd == 0 and not status.spent_usd):
                    continue
                identity = (status.name, tuple(sorted(status.key.items())), threshold)
                until = quiet.get(identity)
                if until is not None and until > status.window_start:
                    continue
                fired.append(
                    Alert(
                        budget=status.name,
                        key=dict(status.key),
                        threshold=threshold,
                        spent_usd=status.spent_usd,
                        limit_usd=status.limit_usd,
                        window_start=status.window_start,
                        window_end=status.window_end,
                        fired_at=now,
                        action=status.action,
                    )
                )
        for alert in fired:  # ours or another collector's: either way it is silenced now
            quiet[(alert.budget, tuple(sorted(alert.key.items())), alert.threshold)] = alert.window_end
        fired = [alert for alert in fired if self._claim(alert)]
        for alert in fired:
            _log.warning("%s", alert.message())
            if self.webhook is not None:
                self.webhook.send(alert)
        return fired

    def _load(self) -> dict[_Identity, datetime]:
        if self._quiet_until is None:
            with translate_errors():
                rows = self.client.query(
                    f"SELECT Name, Key, Threshold, max(WindowEnd) FROM {self._table} GROUP BY Name, Key, Threshold"
                ).result_rows
            self._quiet_until = {
                (name, tuple(sorted(dict(key).items())), Decimal(threshold).normalize()): utc(end)
                for name, key, threshold, end in rows
            }
        return self._quiet_until

    def _claim(self, alert: Alert) -> bool:
        """Record `alert` as claimed by this evaluator; whether the claim that silences it first is ours."""
        key = tuple(sorted(alert.key.items()))
        token = json.dumps(["llmledger budget alert", alert.budget, key, str(alert.threshold), iso(alert.window_start)])
        row = [
            alert.budget,
            alert.key,
            alert.window_start,
            alert.window_end,
            alert.threshold,
            alert.spent_usd,
            alert.limit_usd,
            alert.fired_at,
            self.claimant,
        ]
        with translate_errors():
            self.client.insert(
                self._table,
                [row],
                column_names=[*_COLUMNS, "ClaimedBy"],
                settings={"insert_deduplication_token": token},
            )
            claims = self.client.query(
                f"SELECT Key, Threshold, WindowEnd, FiredAt, ClaimedBy FROM {self._table} WHERE Name = {{name:String}}",
                parameters={"name": alert.budget},
            ).result_rows
        silencing = [
            (utc(fired_at), claimed_by)
            for claim_key, threshold, window_end, fired_at, claimed_by in claims
            if tuple(sorted(dict(claim_key).items())) == key
            and Decimal(threshold).normalize() == alert.threshold.normalize()
            and utc(window_end) > alert.window_start
        ]
        return not silencing or min(silencing)[1] == self.claimant


_COLUMNS = ["Name", "Key", "WindowStart", "WindowEnd", "Threshold", "SpentUsd", "LimitUsd", "FiredAt"]
