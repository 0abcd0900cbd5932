# SPDX-License-Identifier: Apache-2.0
"""The collector's budget loop: serves `GET /v1/budgets/status` from a short cache and evaluates alerts.

Alerts go to every channel the budget file names (`webhook`, `slack`, `teams`, `email`: `notify.channels_for`),
and, with `spend_rate` in the file, the spend-rate alert is evaluated in the same loop (`notify.SpendRateWatch`).

Polling processes (the instrumentation's shared budgets) may ask for the status many times a second; one
ClickHouse query per `cache_seconds` answers them all. Alerts are evaluated every `interval` seconds on a
thread of their own, from a fresh status. ClickHouse being down makes the endpoint answer 503 and the loop
log and try again next time; neither stops the collector.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from clickhouse_connect.driver.client import Client

from llmledger._core.budget_file import BudgetFile

from ..exporters.clickhouse.errors import ClickHouseError
from ..notify.channels import Channels, channels_for
from .alerts import AlertEvaluator, Webhook
from .status import BudgetStatus, read_status, status_document

if TYPE_CHECKING:
    from ..notify.spend_rate import SpendRateWatch

STATUS_PATH = "/v1/budgets/status"
_JSON = "application/json"
_log = logging.getLogger(__name__)


class BudgetMonitor:
    def __init__(
        self,
        client: Client,
        budgets: BudgetFile,
        *,
        database: str | None = None,
        interval: float = 15.0,
        cache_seconds: float = 5.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        webhook: Webhook | None = None,
    ) -> None:
        self.client = client
        self.budgets = budgets
        self.interval = interval
        self.cache_seconds = cache_seconds
        self.clock = clock
        self.webhook = webhook if webhook is not None else (Webhook(budgets.webhook) if budgets.webhook else None)
        others = channels_for(replace(budgets, webhook=None)).channels  # slack, teams, email
        self.channels = Channels([*([self.webhook] if self.webhook else []), *others])
        self.alerts = AlertEvaluator(client, webhook=None, database=database, clock=clock)  # sent here, to all
        rate = budgets.alerting.spend_rate
        self.spend_rate: SpendRateWatch | None = None
        if rate is not None:
            from ..notify.spend_rate import SpendRateWatch  # here: it reads the budget status module

            self.spend_rate = SpendRateWatch(client, rate, self.channels, database=database, clock=clock)
        self._lock = threading.Lock()
        self._cached: tuple[float, datetime, list[BudgetStatus]] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="llmledger-budgets", daemon=True)

    def status(self, *, fresh: bool = False) -> tuple[datetime, list[BudgetStatus]]:
        """(when it was read, the statuses), from the cache unless older than `cache_seconds` or `fresh`."""
        with self._lock:  # one query at a time; concurrent pollers wait for it and share the answer
            cached = self._cached
            if not fresh and cached is not None and time.monotonic() - cached[0] < self.cache_seconds:
                return cached[1], cached[2]
            now = self.clock()
            statuses = read_status(self.client, self.budgets, now)
            self._cached = (time.monotonic(), now, statuses)
            return now, statuses

    def handle_status(self) -> tuple[int, str, bytes]:
        """The `GET /v1/budgets/status` route: (HTTP status, content type, body)."""
        try:
            generated_at, statuses = self.status()
        except ClickHouseError as error:
            _log.warning("budget status unavailable: %s", error)
            body = {"error": f"budget status unavailable: {error}"}
            return 503, _JSON, json.dumps(body).encode()
        return 200, _JSON, json.dumps(status_document(statuses, generated_at)).encode()

    def evaluate(self) -> None:
        """One round of alerts from a fresh status."""
        _, statuses = self.status(fresh=True)
        for alert in self.alerts.evaluate(statuses):
            self.channels.send(alert)
        if self.spend_rate is not None:
            self.spend_rate.evaluate()

    def start(self) -> BudgetMonitor:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.channels.stop()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.evaluate()
            except ClickHouseError as error:
                _log.warning("budget alerts not evaluated: %s", error)
            except Exception:
                _log.exception("budget alerts not evaluated")
            self._stop.wait(self.interval)
