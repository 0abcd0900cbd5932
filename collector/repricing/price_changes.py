# SPDX-License-Identifier: Apache-2.0
"""Price changes noticed: a model with calls in the last 30 days whose price in force now charges differently
from before (a new price file, refreshed genai-prices data, a dated price coming into force).

For each (provider, model) called in the last 30 days with a known cost, `find_changes` compares the price the
collector's lookup gives now with the price it last saw in force for that model (`llm_price_watch`), or, for a
model it never looked at, with the price the collector costed its latest call with (by PriceId); only a change
of rates counts, not a new version of the same rates. The application's own costs carry no PriceId of ours, so a
model only the application costed is compared from the second look on.

`PriceWatch` is the collector's loop: at start, whenever the price file changes and every hour, it records each
change not announced before in `llm_price_changes`, remembers the price now in force (in `llm_price_watch`, the
price itself in `llm_model_prices`), then logs the change and sends it through the alert webhook, once: the
tables are read back first, so a restarted collector does not announce a change again. As for budget alerts, a
crash between the write and the webhook loses that webhook.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

from clickhouse_connect.driver.client import Client

from llmledger._core import price_data, prices
from llmledger._core.prices import ModelPrice, Rate, Tiered

from ..exporters.clickhouse.client import translate_errors
from ..exporters.clickhouse.errors import ClickHouseError
from ..exporters.clickhouse.migrations import quote_identifier
from ..exporters.clickhouse.writer import record_prices
from ..extract.costs import price_for
from . import _recost

CHANGES_TABLE = "llm_price_changes"
WATCH_TABLE = "llm_price_watch"
_DAYS = 30
_log = logging.getLogger(__name__)


class Channel(Protocol):
    """Where alerts go: the budget file's `Webhook`, or anything else that sends a notice (document + message)."""

    def send(self, notice: Any) -> bool: ...


@dataclass(frozen=True, slots=True)
class PriceChange:
    """The price of `model` at `provider` moved from `old` (its latest call's) to `new` (in force now)."""

    provider: str
    model: str
    old: ModelPrice
    new: ModelPrice
    calls: int  # calls in the last 30 days
    last_call: datetime
    noticed_at: datetime

    @property
    def identity(self) -> tuple[str, str, str, str]:
        return self.provider, self.model, self.old.id, self.new.id

    def document(self) -> dict[str, Any]:
        """The webhook body."""
        return {
            "kind": "price_change",
            "provider": self.provider,
            "model": self.model,
            "old": _rates(self.old),
            "new": _rates(self.new),
            "calls_last_30_days": self.calls,
            "last_call": _iso(self.last_call),
            "noticed_at": _iso(self.noticed_at),
            "reprice": f"llmledger reprice --since {self.last_call:%Y-%m-%d} --model '{self.model}' --dry-run",
        }

    def title(self) -> str:
        return f"Price change: {self.provider} {self.model}"

    def message(self) -> str:
        old, new = _rates(self.old), _rates(self.new)
        moved = ", ".join(
            f"{kind} {old[kind] or '-'} → {new[kind] or '-'}"
            for kind in old
            if kind != "source" and old[kind] != new[kind]
        )
        return (
            f"price of {self.provider} {self.model} changed ({moved} USD per million tokens; now from "
            f"{new['source']}); {self.calls} calls in the last {_DAYS} days were costed at the old price"
        )


@dataclass(frozen=True, slots=True)
class _InUse:
    provider: str
    model: str
    now: ModelPrice | None  # the price the collector's lookup gives now
    before: ModelPrice | None  # the price last seen in force, else the latest call's
    calls: int
    last_call: datetime


def find_changes(client: Client, *, database: str | None = None, now_ns: int | None = None) -> list[PriceChange]:
    """Every model called in the last 30 days whose price now charges differently from the price last seen in
    force for it (`llm_price_watch`), or, never seen, from the price its latest call was costed with."""
    return [change for change in _changes(_in_use(client, database, now_ns)) if change is not None]


def _changes(models: list[_InUse]) -> list[PriceChange | None]:
    found: list[PriceChange | None] = []
    for model in models:
        if model.now is None or model.before is None or _recost.same_rates(model.before, model.now):
            found.append(None)
            continue
        noticed = datetime.now(UTC)
        found.append(
            PriceChange(model.provider, model.model, model.before, model.now, model.calls, model.last_call, noticed)
        )
    return found


def _in_use(client: Client, database: str | None, now_ns: int | None) -> list[_InUse]:
    now_ns = time.time_ns() if now_ns is None else now_ns
    db = f"{quote_identifier(database)}." if database else ""
    with translate_errors():
        used = client.query(
            f"""
            SELECT c.Provider, c.model, c.response, c.request, c.price_id, c.last, c.calls, w.PriceId
            FROM
            (
                SELECT Provider, toString(Model) AS model, argMax(ResponseModel, Timestamp) AS response,
                       argMax(RequestModel, Timestamp) AS request, argMax(PriceId, Timestamp) AS price_id,
                       toUnixTimestamp64Nano(max(Timestamp)) AS last, count() AS calls
                FROM {db}llm_calls FINAL
                WHERE Timestamp >= fromUnixTimestamp64Nano({{now:Int64}}) - toIntervalDay({_DAYS})
                  AND CostSource != 'unpriced'
                GROUP BY Provider, model
            ) AS c
            LEFT JOIN (SELECT Provider, Model, PriceId FROM {db}{WATCH_TABLE} FINAL) AS w
                ON w.Provider = c.Provider AND w.Model = c.model
            ORDER BY c.Provider, c.model
            """,
            parameters={"now": now_ns},
        ).result_rows
        ids = sorted({row[7] or row[4] for row in used} - {""})
        stored = {
            row["PriceId"]: _recost.stored_price(row)
            for row in client.query(
                f"SELECT * FROM {db}llm_model_prices FINAL WHERE PriceId IN {{ids:Array(String)}}",
                parameters={"ids": ids},
            ).named_results()
        }
    return [
        _InUse(
            provider,
            model,
            price_for(provider, response_model, request_model, now_ns, {}),
            stored.get(watched or price_id),
            int(calls),
            _datetime(last_ns),
        )
        for provider, model, response_model, request_model, price_id, last_ns, calls, watched in used
    ]


class PriceWatch:
    """Notices price changes, records and announces each once (log, and `channel` when given)."""

    def __init__(
        self,
        client: Client,
        *,
        channel: Channel | None = None,
        database: str | None = None,
        interval: float = 15.0,
        recheck: float = 3600.0,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.client = client
        self.channel = channel
        self.database = database
        self.interval = interval
        self.recheck = recheck
        self.clock_ns = clock_ns
        self._table = f"{quote_identifier(database)}.{CHANGES_TABLE}" if database else CHANGES_TABLE
        self._announced: set[tuple[str, str, str, str]] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="llmledger-price-watch", daemon=True)

    def check(self) -> list[PriceChange]:
        """One look: the changes announced now (those seen before are not announced again); the price in force
        for each model in use is remembered (`llm_price_watch`) for the next look."""
        announced = self._load()
        models = _in_use(self.client, self.database, self.clock_ns())
        changes = _changes(models)
        fresh = [change for change in changes if change is not None and change.identity not in announced]
        seen = [
            model
            for model, change in zip(models, changes, strict=True)
            if model.now is not None and (model.before is None or change is not None)
        ]
        if seen:  # a model first seen, or whose price changed: its price in force now is the one to compare with
            record_prices(self.client, [model.now for model in seen if model.now is not None], database=self.database)
        if fresh:
            self._record(fresh)
        if seen:
            self._remember(seen)
        for change in fresh:
            announced.add(change.identity)
            _log.warning("%s", change.message())
            if self.channel is not None:
                self.channel.send(change)
        return fresh

    def _remember(self, models: list[_InUse]) -> None:
        rows = [[model.provider, model.model, model.now.id] for model in models if model.now is not None]
        table = f"{quote_identifier(self.database)}.{WATCH_TABLE}" if self.database else WATCH_TABLE
        with translate_errors():
            self.client.insert(table, rows, column_names=["Provider", "Model", "PriceId"])

    def start(self) -> PriceWatch:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        seen: tuple[Any, ...] | None = None
        last = 0.0
        while not self._stop.is_set():
            source = _price_source()
            if source != seen or time.monotonic() - last >= self.recheck:
                try:
                    self.check()
                    seen, last = source, time.monotonic()
                except ClickHouseError as error:
                    _log.warning("price changes not checked: %s", error)
                except Exception:
                    _log.exception("price changes not checked")
            self._stop.wait(self.interval)

    def _load(self) -> set[tuple[str, str, str, str]]:
        if self._announced is None:
            with translate_errors():
                rows = self.client.query(
                    f"SELECT DISTINCT Provider, Model, OldPriceId, NewPriceId FROM {self._table}"
                ).result_rows
            self._announced = {tuple(row) for row in rows}  # type: ignore[misc]
        return self._announced

    def _record(self, changes: list[PriceChange]) -> None:
        rows = [
            [
                c.provider,
                c.model,
                c.old.id,
                c.new.id,
                c.noticed_at,
                c.last_call,
                c.calls,
                _base(c.old.input),
                _base(c.new.input),
                _base(c.old.output),
                _base(c.new.output),
                c.new.source,
                c.new.version,
            ]
            for c in changes
        ]
        columns = [
            "Provider",
            "Model",
            "OldPriceId",
            "NewPriceId",
            "NoticedAt",
            "LastCallAt",
            "Calls30d",
            "OldInputPerMTok",
            "NewInputPerMTok",
            "OldOutputPerMTok",
            "NewOutputPerMTok",
            "NewSource",
            "NewVersion",
        ]
        with translate_errors():
            self.client.insert(self._table, rows, column_names=columns)


def _price_source() -> tuple[Any, ...]:
    """What decides prices in this process: the price file and its mtime, and the genai-prices data in force."""
    path = os.environ.get(prices.PRICES_FILE_ENV)
    try:
        mtime = os.stat(path).st_mtime if path else None
    except OSError:
        mtime = None
    return path, mtime, price_data.in_force().version


def _rates(price: ModelPrice) -> dict[str, str | None]:
    def text(rate: Rate | None) -> str | None:
        return None if rate is None else str(_base(rate).normalize())

    return {
        "input": text(price.input),
        "output": text(price.output),
        "cache_read": text(price.cache_read),
        "cache_write": text(price.cache_write),
        # genai-prices' versions name it already ("genai-prices 0.2.5"); an override's is its file's name and hash
        "source": price.version
        if price.version.startswith(price.source)
        else f"{price.source} {price.version}".strip(),
    }


def _base(rate: Rate | None) -> Decimal:
    if rate is None:
        return Decimal(0)
    return rate.base if isinstance(rate, Tiered) else rate


def _datetime(unix_ns: int) -> datetime:
    return datetime.fromtimestamp(unix_ns // 10**9, UTC).replace(microsecond=unix_ns % 10**9 // 1000)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
