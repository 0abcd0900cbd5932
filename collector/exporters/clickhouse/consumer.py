# SPDX-License-Identifier: Apache-2.0
"""The queue's ClickHouse consumer: batches of queued rows into `llm_calls` (and `otel_traces`), exactly once.

A batch is a range of queue positions [start, end). Before inserting it the range is saved in the cursor as
in flight; each insert's deduplication token is `llmledger-<queue id>-<start>-<end>-<table>-<n>`. After a crash
the same range is re-read and cut into the same inserts (the cut size is saved too), so an insert that did land
before the crash comes back under the same token and ClickHouse ignores it, in `llm_calls` and in every rollup.
Outages are retried with jittered exponential backoff for as long as it takes; the queue absorbs the backlog.
Between batches, every few seconds, the consumer takes back its own deliveries of calls that another collector
stored first (`duplicates`), so a call delivered to several collectors counts once in the rollups.
A batch ClickHouse refuses for what it is (not for its own state) is dropped and counted, so that one bad row
cannot stop the collector.
"""

from __future__ import annotations

import functools
import logging
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from llmledger._core.prices import ModelPrice

from ...backoff import Backoff
from ...llm_calls import CallColumns
from ...pipeline.call_merger import FOLDED_COLUMNS
from ...pipeline.queue import DiskQueue
from ...pipeline.records import Rows, rows
from .duplicates import SETTLE_SECONDS, collector_prefix
from .errors import ClickHouseError, ConnectionFailed, QueryFailed
from .writer import Store

_log = logging.getLogger(__name__)
CONSUMER = "store"
_MISSING_TABLE_CODES = frozenset({60, 81})  # UNKNOWN_TABLE, UNKNOWN_DATABASE
_LOCAL_ENCODING_ERRORS = (AttributeError, TypeError, OverflowError, struct.error, ValueError)


@dataclass(slots=True)
class StoreStats:
    calls_written: int = 0
    raw_written: int = 0
    write_errors: int = 0
    calls_taken_back: int = 0  # own deliveries of calls another delivery counts, taken back from the rollups
    consecutive_failures: int = 0
    last_error: str = ""
    dropped: dict[str, int] = field(default_factory=dict)  # rows dropped by policy, by reason


@dataclass(slots=True)
class _Batch:
    start: int
    end: int
    rows: Rows = field(default_factory=Rows)


class StoreConsumer:
    def __init__(
        self,
        store: Store,
        queue: DiskQueue,
        *,
        batch_size: int,
        flush_interval: float,
        retry_delay: float = 0.5,
        max_retry_delay: float = 30.0,
        settle: float = SETTLE_SECONDS,
    ) -> None:
        self.store = store
        self.queue = queue
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.stats = StoreStats()
        self._stopping = threading.Event()  # drain what is queued, then return
        self._abort = threading.Event()  # give up now; what is not committed stays queued for the next start
        self._backoff = Backoff(retry_delay, max_retry_delay, self._abort)
        self._thread = threading.Thread(target=self._run, name="llmledger-writer", daemon=True)
        # Deliveries are swept once `settle` seconds old, a few times within that time.
        self.settle = settle
        self._sweep_every = min(max(settle / 4, 0.25), 15.0)
        self._next_sweep = 0.0

    def start(self) -> StoreConsumer:
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Write what is queued (within `timeout`), then stop; anything left is replayed on the next start."""
        self._stopping.set()
        self._thread.join(timeout)
        self._abort.set()
        self._thread.join(5.0)

    def _run(self) -> None:
        cursor = self.queue.cursor(CONSUMER)
        if cursor.inflight is not None:
            start, end = cursor.inflight
            _log.info("resuming the insert of queue positions [%d, %d) interrupted before its commit", start, end)
            if not self._deliver(self._exactly(start, end), cursor.rows_per_insert or self.batch_size):
                return
        self._finish_upgrades()
        position = self.queue.cursor(CONSUMER).committed
        while not self._abort.is_set():
            self._sweep_when_due()
            batch = self._next(position)
            if batch.end == batch.start:
                if self._stopping.is_set():
                    return
                continue
            if len(batch.rows) and not self._deliver(batch, self.batch_size):
                return
            if not len(batch.rows):  # only records for the forwarder: nothing to insert
                self.queue.commit(CONSUMER, batch.end)
            position = batch.end

    def _finish_upgrades(self) -> None:
        """Write the new versions of stored calls whose upgrade was journaled but never written (its batch was
        dropped after the journal insert): once, at start, after the batch left in flight. A failure is logged, not
        retried: the next start tries again."""
        finish = getattr(self.store, "finish_upgrades", None)
        if finish is None:
            return
        try:
            finished = finish()
        except (ClickHouseError, ValueError) as error:
            _log.warning("could not finish the upgrades of stored calls left without their new version: %s", error)
            return
        if finished:
            _log.info("wrote the new version of %d stored calls whose upgrade was journaled before", finished)

    def _sweep_when_due(self) -> None:
        """Take back this collector's extra deliveries (`duplicates.sweep`) when the interval has passed. A failure is
        logged and tried again at the next interval: the deliveries wait in ClickHouse, nothing is lost."""
        retract = getattr(self.store, "retract_duplicates", None)
        if retract is None or time.monotonic() < self._next_sweep:
            return
        self._next_sweep = time.monotonic() + self._sweep_every
        try:
            retracted = retract(collector_prefix(self.queue.id), self.settle)
        except (ClickHouseError, ValueError) as error:
            _log.warning("could not look for calls another collector stored too: %s", error)
            return
        if retracted:
            _log.info("took back %d calls another delivery had stored first", retracted)
            self.stats.calls_taken_back += retracted

    def _next(self, position: int) -> _Batch:
        """Records from `position` until `batch_size` rows or `flush_interval` after the first one."""
        batch = _Batch(position, position)
        deadline: float | None = None
        while len(batch.rows) < self.batch_size:
            if self._stopping.is_set():
                wait = 0.0
            elif deadline is None:
                wait = 0.2  # poll for the first record, so that a stop is noticed
            else:
                wait = deadline - time.monotonic()
                if wait <= 0:
                    break
            records = self.queue.read(batch.end, timeout=min(wait, 0.2))  # short waits: a stop is seen soon
            if not records and (deadline is None or wait == 0.0):
                break
            deadline = deadline or time.monotonic() + self.flush_interval
            for record in records:
                found = rows(record.payload)
                if found is not None:
                    batch.rows.extend(found)
                batch.end = record.end
                if len(batch.rows) >= self.batch_size:
                    break
        return batch

    def _exactly(self, start: int, end: int) -> _Batch:
        """The batch of queue range [start, end), re-formed record by record."""
        batch = _Batch(start, start)
        while batch.end < end:
            records = self.queue.read(batch.end, max_bytes=end - batch.end)
            if not records:
                _log.error("queue range [%d, %d) ends early at %d", start, end, batch.end)
                break
            if records[-1].end > end:  # never expected: ranges are cut at record boundaries
                _log.error("queue range [%d, %d) does not end at a record boundary", start, end)
                break
            for record in records:
                found = rows(record.payload)
                if found is not None:
                    batch.rows.extend(found)
                batch.end = record.end
        batch.end = end
        return batch

    def _deliver(self, batch: _Batch, rows_per_insert: int) -> bool:
        """Insert `batch` and commit it; False if aborted first (the batch stays in flight for the next start)."""
        self.queue.begin(CONSUMER, batch.start, batch.end, rows_per_insert)
        token = f"{collector_prefix(self.queue.id)}{batch.start}-{batch.end}"
        prices = list(batch.rows.prices.values())
        tables: tuple[tuple[str, Any, Callable[[Any, str], None]], ...] = (
            ("calls", batch.rows.calls, functools.partial(_write_calls, self.store, prices)),
            ("raw", batch.rows.raw, self.store.write_raw_spans),
            ("folded", batch.rows.folded, functools.partial(_write_folded, self.store)),
            # After the calls: an upgrade may be of a row this very batch stores.
            ("upgrades", batch.rows.upgrades, functools.partial(_write_upgrades, self.store, prices)),
        )
        for kind, rows_, write in tables:
            for index, first in enumerate(range(0, len(rows_), rows_per_insert)):
                chunk = rows_[first : first + rows_per_insert]
                written = self._insert(functools.partial(write, chunk, f"{token}-{kind}-{index}"), kind, len(chunk))
                if written is None:
                    return False
                if written and kind == "calls":
                    self.stats.calls_written += len(chunk)
                elif written and kind == "raw":
                    self.stats.raw_written += len(chunk)
        self.queue.commit(CONSUMER, batch.end)
        return True

    def _insert(self, insert: Callable[[], None], kind: str, count: int) -> bool | None:
        """Run `insert` until it succeeds (True) or is refused for good (False: dropped, counted); None if
        aborted first."""
        stats = self.stats
        what = {"calls": "calls", "raw": "raw spans", "folded": "folded spans", "upgrades": "upgraded calls"}[kind]
        while True:
            try:
                insert()
                stats.consecutive_failures = 0
                self._backoff.reset()
                return True
            except (ClickHouseError, ValueError) as error:
                stats.write_errors += 1
                stats.consecutive_failures += 1
                stats.last_error = str(error)
                if not _retryable(error):
                    reason = f"clickhouse_rejected_{what.replace(' ', '_')}"
                    stats.dropped[reason] = stats.dropped.get(reason, 0) + count
                    _log.error("ClickHouse refused %d %s for good, dropped (counted): %s", count, what, error)
                    return False
                _log.warning(
                    "writing %s to ClickHouse failed (%d in a row), retrying: %s",
                    what,
                    stats.consecutive_failures,
                    error,
                )
                if not self._backoff.wait():
                    return None


def _write_calls(store: Store, prices: list[ModelPrice], calls: CallColumns, token: str) -> None:
    store.write_calls(calls, prices, token)


def _write_folded(store: Store, rows: list[Any], token: str) -> None:
    """The spans folded into another row's call, into `llm_call_spans` (a store without that table skips them)."""
    write = getattr(store, "write_call_spans", None)
    if write is not None:
        write(FOLDED_COLUMNS, rows, token)


def _write_upgrades(store: Store, prices: list[ModelPrice], rows: list[Any], token: str) -> None:
    """Stored rows taking the better record of a later span of their call (a store without it skips them)."""
    write = getattr(store, "write_upgrades", None)
    if write is not None:
        write(rows, prices, token)


def _retryable(error: Exception) -> bool:
    """Whether the same insert can succeed later: an outage or overload yes, a row the table cannot take no."""
    if isinstance(error, ConnectionFailed):
        return True  # unreachable, timed out, even refused credentials: an operator can fix it, keep the data
    if isinstance(error, QueryFailed) and error.code is None:
        return not isinstance(error.__cause__, _LOCAL_ENCODING_ERRORS)  # e.g. a proxy's 502, not a bad value
    if isinstance(error, QueryFailed) and error.code in _MISSING_TABLE_CODES:
        return True  # the server's state (a table dropped, a database not yet created), not the rows' fault
    return isinstance(error, ClickHouseError) and error.transient
