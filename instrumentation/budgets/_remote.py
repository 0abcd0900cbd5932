# SPDX-License-Identifier: Apache-2.0
"""Shared budgets, client side: poll the collector's ``GET /v1/budgets/status`` so other processes' spend counts.

A daemon thread fetches the status every ``interval`` seconds; the enforcement path only reads the last
snapshot (a dict lookup), so a slow or dead collector never delays a call. Failures are logged, once at WARNING
when polling starts failing and again when it recovers, and otherwise at DEBUG.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from ._ledger import RemoteSpend

_log = logging.getLogger(__name__)

Key = tuple[tuple[str, str], ...]


class StatusPoller:
    """The last budget status the collector served, refreshed in the background."""

    def __init__(self, url: str, interval: float, timeout: float = 10.0, token: str | None = None) -> None:
        self.url = url
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._interval = interval
        self._timeout = min(timeout, interval)
        self._spend: dict[tuple[str, frozenset[tuple[str, str]]], RemoteSpend] = {}
        self._failing = False
        self._polling = threading.Lock()  # one fetch at a time: a refresh() may race the background thread
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def spend(self, budget: str, key: Key) -> RemoteSpend | None:
        return self._spend.get((budget, frozenset(key)))

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="llmledger-budget-status", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def poll(self) -> bool:
        """Fetch the status now; False (logged) if it could not be fetched or read.

        Serialised so that two overlapping fetches can neither both log a first failure at WARNING nor let the
        older snapshot land after the newer one.
        """
        with self._polling:
            return self._poll()

    def _poll(self) -> bool:
        import urllib.request  # here, not at import: it pulls in ssl and http.client

        try:
            request = urllib.request.Request(self.url, headers=self._headers)
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                document = json.loads(response.read())
            spend = parse_status(document)
        except Exception as error:
            # A poller being stopped (budgets reconfigured, the app exiting) may still finish a fetch: no warning.
            level = logging.DEBUG if self._failing or self._stop.is_set() else logging.WARNING
            _log.log(level, "llmledger: cannot read budget status from %s: %s", self.url, error)
            self._failing = True
            return False
        if self._failing:
            _log.warning("llmledger: budget status from %s is readable again", self.url)
            self._failing = False
        self._spend = spend  # one reference swap: readers see the old or the new snapshot, never half of one
        return True

    def _run(self) -> None:
        while not self._stop.is_set():
            self.poll()
            self._stop.wait(self._interval)


def parse_status(document: Any) -> dict[tuple[str, frozenset[tuple[str, str]]], RemoteSpend]:
    """Index a status document by (budget name, pool key); raises ValueError for a malformed one."""
    if not isinstance(document, Mapping) or not isinstance(document.get("budgets"), list):
        raise ValueError("expected {'generated_at': ..., 'budgets': [...]}")
    generated_at = _instant(document.get("generated_at"))
    out: dict[tuple[str, frozenset[tuple[str, str]]], RemoteSpend] = {}
    for entry in document["budgets"]:
        key = entry.get("key") or {}
        if not isinstance(entry.get("name"), str) or not isinstance(key, Mapping):
            raise ValueError(f"budget status entry without a name or key: {entry!r}")
        pool = frozenset((str(dim), "" if value is None else str(value)) for dim, value in key.items())
        out[(entry["name"], pool)] = RemoteSpend(
            spent=Decimal(str(entry["spent_usd"])),
            window_start=_instant(entry["window_start"]),
            generated_at=generated_at,
        )
    return out


def _instant(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"expected an ISO 8601 time, got {value!r}")
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"a time without a UTC offset: {value!r}")
    return moment
