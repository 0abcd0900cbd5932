# SPDX-License-Identifier: Apache-2.0
"""From a received request to records on disk: the steps of `Pipeline.accept`, and the consumers that read them.

Receivers call `accept()` on their own threads, and it reads top to bottom:

    _admit       refuse (`Backpressure`) while stopping or when the queue is full, before any work
    _extract     the request's LLM calls (`extract.Extractor`, or a worker process), and its raw span rows if kept
    _first_seen  drop the spans already taken (`SeenSpans`: SDK re-sends would be counted twice by the rollups),
                 and fold the spans of a call another row holds (`CallMerger`: one row per provider call), a
                 stored row taking the record of a later span that ranks better (an upgrade, for the writer)
    _records     the queue records (`records`): the request's bytes for the forwarder, the new rows for the writer
    _append      append them to the durable queue; if it refuses, forget the spans again and say why
    _count       the counters `/metrics` shows

It returns (and the receiver acknowledges) only once the records are on disk. Two consumers read the queue, each
with its own cursor: the ClickHouse writer (`exporters.clickhouse.consumer`) and the forwarder
(`exporters.forward`), so neither ever waits for the other. A full queue raises `Backpressure` and receivers
answer 429 / RESOURCE_EXHAUSTED with a retry delay.

Metrics and logs requests go through `accept_signal()`: the collector keeps nothing of them, so with a forwarder
they are queued as they came (forward records only, acknowledged once durable, sent in order with the traces),
and without one they are counted and dropped.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from google.protobuf.message import Message
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from ..exporters.clickhouse.consumer import CONSUMER as STORE_CONSUMER
from ..exporters.clickhouse.consumer import StoreConsumer
from ..exporters.clickhouse.duplicates import SETTLE_SECONDS
from ..exporters.clickhouse.writer import Store
from ..exporters.forward import CONSUMER as FORWARD_CONSUMER
from ..exporters.forward import Forwarder, ForwardStats
from ..extract import Extractor
from ..extract.attributes import DEFAULT, AttributeSelection
from ..extract.raw_span_rows import raw_span_rows
from ..llm_calls import CallColumns
from ..otlp.signals import PassedSignal
from ..otlp.wire import TraceExport
from .call_merger import CallIdentities, CallMerger, Folding, StoredCall, folded_rows, upgrade_rows
from .extract_workers import Extracted, ExtractionPool
from .memory_limit import MemoryLimit
from .queue import DiskQueue, QueueFull, RecordTooLarge
from .records import forward_record, rows, store_record
from .seen_spans import SeenSpans

_log = logging.getLogger(__name__)


class Backpressure(Exception):
    """The collector cannot take the request now (queue full, shutting down); retry after `retry_after` s."""

    def __init__(self, retry_after: int = 1, reason: str = "the collector's queue is full") -> None:
        super().__init__(f"{reason}; retry after {retry_after} s")
        self.retry_after = retry_after


class RequestTooLarge(ValueError):
    """A request larger than the whole queue: refused for good (413 / INVALID_ARGUMENT), never retried forever."""


@dataclass(slots=True)
class Outcome:
    """What became of one request: spans rejected (partial success) and why."""

    rejected_spans: int = 0
    message: str = ""


@dataclass(slots=True)
class PipelineStats:
    requests: int = 0
    spans: int = 0
    calls: int = 0
    duplicates: int = 0
    folded: int = 0  # LLM spans of a call another row holds (listed in llm_call_spans, not stored as calls)
    rejected: int = 0  # LLM spans whose cost Decimal(18, 12) cannot hold
    backpressure: int = 0  # requests refused with a retry delay (not lost: the sender retries)
    calls_written: int = 0
    raw_written: int = 0
    write_errors: int = 0
    calls_taken_back: int = 0  # stored calls whose delivery another collector's came before (`duplicates`)
    metric_requests: int = 0  # metrics and logs requests taken (forwarded when forwarding, else dropped)
    metric_points: int = 0
    log_requests: int = 0
    log_records: int = 0


class Pipeline:
    """The collector between its receivers and its exporters: takes requests (`accept`, `accept_signal`) into the
    durable queue, runs the queue's consumers (`start`, `stop`), and reports its counters and readiness."""

    def __init__(
        self,
        store: Store,
        queue: DiskQueue,
        *,
        batch_size: int = 50_000,
        flush_interval: float = 1.0,
        store_raw_spans: bool = False,
        forwarder: Forwarder | None = None,
        retry_delay: float = 0.5,
        retry_after: int = 1,
        attributes: AttributeSelection = DEFAULT,
        extract_workers: int = 0,
        memory_limit: MemoryLimit | None = None,
        duplicate_settle: float = SETTLE_SECONDS,
    ) -> None:
        self.store = store
        # What receivers reserve each request of, before reading it (`MemoryLimit.reserve`); none by default.
        self.memory = memory_limit or MemoryLimit(None)
        self.memory.release_on_pressure(queue.forget_recent)
        self.queue = queue
        self.store_raw_spans = store_raw_spans
        self.forwarder = forwarder
        self._stats = PipelineStats()
        self._retry_after = retry_after
        self.attributes = attributes  # which custom span attributes go into llm_calls.Attributes
        self.extractor = Extractor(attributes)  # C or Python, chosen once: here
        self._seen_calls = SeenSpans()
        self._seen_raw = SeenSpans()
        self._merger = CallMerger()
        self._lock = threading.Lock()
        self._stopping = False
        self._writer = StoreConsumer(
            store,
            queue,
            batch_size=batch_size,
            flush_interval=flush_interval,
            retry_delay=retry_delay,
            settle=duplicate_settle,
        )
        self._remember_queued()
        # Extraction off the receiving threads' GIL: worth it from two cores up (see `extract_workers`).
        self._pool = ExtractionPool(extract_workers, attributes) if extract_workers > 0 else None
        if self._pool is not None:
            self.memory.processes.include(self._pool.pids)

    def remember_stored(self, call_keys: Iterable[str]) -> None:
        """Seed the duplicate filter with calls stored by an earlier run (trace id + span id, oldest first), ahead
        of those still queued; then the call merger, with what the store says of those calls (`recent_calls`)."""
        seen = SeenSpans()
        seen.remember(call_keys)
        with self._lock:
            seen.remember(self._seen_calls)
            self._seen_calls = seen
        recent_calls = getattr(self.store, "recent_calls", None)
        if recent_calls is not None:
            self.remember_stored_calls(recent_calls(CallMerger.CAPACITY))

    def remember_stored_calls(self, calls: Iterable[StoredCall]) -> None:
        """Seed the call merger with calls stored by an earlier run, (trace id, span id, parent span id, call key[,
        rank]), oldest first: a span of such a call arriving now is folded into its row, not stored as a second
        one, and upgrades the row only when it ranks better than the record the row holds."""
        with self._lock:
            self._merger.remember(calls)

    def _remember_queued(self, scan_bytes: int = 64 << 20) -> None:
        """Seed the duplicate filter with the spans of the last `scan_bytes` of records not yet stored."""
        position = self.queue.recent_position(scan_bytes, since=self.queue.cursor(STORE_CONSUMER).committed)
        while records := self.queue.read(position):
            for record in records:
                found = rows(record.payload)
                if found is not None:
                    self._seen_calls.remember(found.calls.keys())
                    self._merger.remember_columns(found.calls)
                    self._seen_raw.remember(row[1] + row[2] for row in found.raw)
            position = records[-1].end

    # -- receiving ---------------------------------------------------------------------------------------
    def accept(self, request: ExportTraceServiceRequest | TraceExport, body: bytes | None = None) -> Outcome:
        """Take one request; when this returns it is durable. A receiver passes a `TraceExport` (its bytes,
        checked); a parsed request comes with `body`, its protobuf bytes, when the caller has them."""
        export = request if isinstance(request, TraceExport) else TraceExport.from_message(request, body)
        self._admit()
        extracted = self._extract(export)
        new = self._first_seen(extracted)
        self._append(self._records(export, extracted, new), new)
        self._count(extracted, new)
        return _outcome(extracted.rejected)

    def accept_signal(self, signal: PassedSignal, request: Message, body: bytes | None = None) -> Outcome:
        """Take one metrics or logs request (parsed: that is its validation); `body`: its protobuf bytes if the
        caller has them. With a forwarder it is durable, queued for forwarding, when this returns, and refused
        like a traces request when the queue cannot take it; without one it is counted and dropped."""
        self._admit(queueing=self.forwarder is not None)
        if self.forwarder is not None:
            data = body if body is not None else request.SerializeToString()
            try:
                self.queue.append(forward_record(data, signal.name))
            except Exception as error:
                self._not_queued(error)
        items = signal.count(request)
        with self._lock:
            stats = self._stats
            if signal.name == "metrics":
                stats.metric_requests += 1
                stats.metric_points += items
            else:
                stats.log_requests += 1
                stats.log_records += items
        return Outcome()

    def _admit(self, queueing: bool = True) -> None:
        """Refuse the request (Backpressure) while stopping, or when it is to be queued and the queue is full:
        before any work on it, so that a full queue costs the sender little."""
        if self._stopping:
            self._refused("the collector is shutting down")
        if queueing and not self.queue.has_room():
            self._refused(f"the collector's queue is full ({self.queue.max_bytes} bytes)")

    def _extract(self, export: TraceExport) -> Extracted:
        """The request's storable calls, and its raw span rows when those are stored."""
        extracted = self._extract_calls(export)
        if self.store_raw_spans:
            extracted.raw = raw_span_rows(export.message)
        return extracted

    def _extract_calls(self, export: TraceExport) -> Extracted:
        """The request's storable calls: by a worker when there is a pool (their record only), else here (their
        columns too). A body without any LLM attribute name holds no call, and is not read further."""
        if not export.may_hold_calls:
            return Extracted(export.spans, 0, [], None, {})
        body = export.body
        if body is not None and self._pool is not None:
            extracted = self._pool.extract(body)
            if extracted is not None:
                return extracted
        extraction = self.extractor.columns(body if body is not None else export.message)
        columns = extraction.columns
        identities = CallIdentities.of(columns)
        return Extracted(
            extraction.spans,
            extraction.rejected,
            identities.span_keys,
            None,
            extraction.prices,
            columns,
            identities=identities,
        )

    def _first_seen(self, extracted: Extracted) -> _New:
        """What of `extracted` the duplicate filter has not seen before (and now remembers), and of those calls which
        the call merger keeps and which it folds into a call another row holds."""
        keys, raw, identities = extracted.keys, extracted.raw, extracted.identities
        raw_keys = [row[1] + row[2] for row in raw]
        with self._lock:
            calls = self._seen_calls.add_all(keys)
            folding = None
            if calls and identities is not None:
                folding = self._merger.fold(identities if len(calls) == len(keys) else identities.take(calls))
            new_raw = [raw[index] for index in self._seen_raw.add_all(raw_keys)] if raw else []
        new_keys = keys if len(calls) == len(keys) else [keys[index] for index in calls]
        kept = calls
        if folding is not None and (folding.folded or folding.resent):
            kept = [calls[position] for position in folding.kept]
        return _New(kept, new_keys, new_raw, folding, calls)

    def _records(self, export: TraceExport, extracted: Extracted, new: _New) -> list[bytes]:
        """The request's queue records: its bytes for the forwarder (when forwarding), its new rows for the writer
        (when it has any)."""
        records = []
        if self.forwarder is not None:
            body = export.body
            records.append(forward_record(body if body is not None else export.message.SerializeToString()))
        store = _store_record(extracted, new)
        if store is not None:
            records.append(store)
        return records

    def _append(self, records: list[bytes], new: _New) -> None:
        """Append `records` to the queue: durable when this returns. When the queue refuses them the request is not
        acknowledged, so the filter forgets its new spans (the sender's retry must not be taken for a re-send) and
        the receivers are told what to answer."""
        if not records:
            return
        try:
            self.queue.append(*records)
        except Exception as error:
            with self._lock:
                self._seen_calls.forget(new.keys)
                self._seen_raw.forget(row[1] + row[2] for row in new.raw)
                if new.folding is not None:
                    self._merger.undo(new.folding)
            self._not_queued(error)

    def _count(self, extracted: Extracted, new: _New) -> None:
        with self._lock:
            stats = self._stats
            stats.requests += 1
            stats.spans += extracted.spans
            stats.rejected += extracted.rejected
            stats.calls += len(new.calls)
            stats.duplicates += len(extracted.keys) - len(new.keys)
            if new.folding is not None:
                stats.folded += len(new.folding.folded)
                stats.duplicates += len(new.folding.resent)

    def _not_queued(self, error: Exception) -> NoReturn:
        """Raise what the receivers answer for an append to the queue that failed with `error`."""
        if isinstance(error, QueueFull):
            self._refused(f"the collector's {error}")
        if isinstance(error, RecordTooLarge):
            raise RequestTooLarge(f"the request cannot be queued: {error}; raise --queue-max-bytes") from None
        if isinstance(error, OSError):  # e.g. the disk is full: the sender keeps the request and retries
            _log.error("cannot write to the queue: %s", error)
            self._refused(f"the collector cannot write its queue ({error.strerror or error})")
        raise error

    def _refused(self, reason: str) -> NoReturn:
        with self._lock:
            self._stats.backpressure += 1
        raise Backpressure(self._retry_after, reason)

    # -- self-telemetry ----------------------------------------------------------------------------------
    def counters(self) -> dict[str, float]:
        """The collector's own counters, for /metrics: totals since start, and gauges (queue_*, *_lag_*)."""
        stats, queue = self.stats, self.queue
        forward = self.forwarder.stats if self.forwarder is not None else ForwardStats()
        counters: dict[str, float] = {
            "received_requests": stats.requests,
            "received_spans": stats.spans,
            "received_metric_requests": stats.metric_requests,
            "received_metric_points": stats.metric_points,
            "received_log_requests": stats.log_requests,
            "received_log_records": stats.log_records,
            "stored_calls": stats.calls_written,
            "stored_raw_spans": stats.raw_written,
            "forwarded_requests": forward.sent,
            "duplicate_spans": stats.duplicates,
            "folded_spans": stats.folded,
            "taken_back_calls": stats.calls_taken_back,
            "write_errors": stats.write_errors,
            "forward_errors": forward.retries + forward.failed,
            "rejected_requests_queue_full": stats.backpressure,
            "memory_resident_bytes": self.memory.resident() if self.memory.limit is not None else 0,
            "memory_limit_bytes": self.memory.limit or 0,
            "memory_in_flight_bytes": self.memory.reserved,
            "queue_bytes": queue.size(),
            "queue_max_bytes": queue.max_bytes,
            "consumer_lag_bytes_store": queue.lag(STORE_CONSUMER),
            "consumer_lag_bytes_forward": queue.lag(FORWARD_CONSUMER) if self.forwarder is not None else 0,
            "dropped_cost_too_large": stats.rejected,
            "dropped_forward_rejected": forward.failed,
            "dropped_forward_unsupported": forward.unsupported,
            "dropped_forward_queue_full_bytes": queue.shed_bytes.get(FORWARD_CONSUMER, 0),
            "dropped_corrupt_queue_bytes": queue.corrupt_bytes,
            "dropped_clickhouse_rejected_calls": 0,
            "dropped_clickhouse_rejected_raw_spans": 0,
        }
        for reason, count in self._writer.stats.dropped.items():
            counters[f"dropped_{reason}"] = count
        return counters

    def ready(self) -> tuple[bool, str]:
        """Whether to take more traffic: False, with the reason, when the queue is ≥ 90 % full of what storage has
        yet to write, or ClickHouse has failed its last writes."""
        if self._stopping:
            return False, "the collector is stopping"
        if self.memory.over():
            return False, f"the collector is at its memory limit ({self.memory.limit} bytes)"
        size, limit = self.queue.held_bytes(), self.queue.max_bytes  # a forwarder's backlog can be shed
        if size >= 0.9 * limit:
            return False, f"the queue is {100 * size / limit:.0f} % full ({size} of {limit} bytes)"
        writer = self._writer.stats
        if writer.consecutive_failures >= 2:
            return False, f"the last {writer.consecutive_failures} writes to ClickHouse failed: {writer.last_error}"
        return True, "ok"

    # -- consumers ---------------------------------------------------------------------------------------
    def start(self) -> Pipeline:
        self._writer.start()
        if self.forwarder is not None:
            self.forwarder.start(self.queue)
        return self

    def stop(self, timeout: float = 30.0, forward_timeout: float = 5.0) -> None:
        """Write what is queued (within `timeout`), forward what can be (within `forward_timeout`), close the
        queue. Whatever is left stays on disk and is replayed on the next start.

        From now on `accept()` refuses with a retry delay: receivers may still be finishing requests on open
        keep-alive connections, and the queue must stop growing for the drain to end."""
        self._stopping = True
        if self._pool is not None:
            self._pool.close()
        self._writer.stop(timeout)
        if self.forwarder is not None:
            self.forwarder.stop(forward_timeout)
        self.queue.close()

    @property
    def stats(self) -> PipelineStats:
        """Totals since start, the writer's included."""
        writer, stats = self._writer.stats, self._stats
        stats.calls_written, stats.raw_written = writer.calls_written, writer.raw_written
        stats.write_errors = writer.write_errors
        stats.calls_taken_back = writer.calls_taken_back
        return stats


@dataclass(slots=True)
class _New:
    """What of a request the duplicate filter let through: the calls to store (indexes into `Extracted.keys`), the
    keys of every call it had not seen, its raw span rows, and what the call merger decided of those calls
    (positions in `first_seen`, the indexes of the calls the filter let through)."""

    calls: Sequence[int]
    keys: Sequence[str]
    raw: list[Sequence[Any]]
    folding: Folding | None = None
    first_seen: Sequence[int] = ()


def _store_record(extracted: Extracted, new: _New) -> bytes | None:
    """The writer's record of the rows the filter let through, of the spans the merger folded and of the stored
    rows those upgrade; None when there are none."""
    folding = new.folding
    folded = folding.folded if folding is not None else []
    every_call = len(new.calls) == len(extracted.keys)
    if every_call and not new.raw and extracted.record is not None:
        return extracted.record  # as the worker wrote it
    if not new.calls and not new.raw and not folded:
        return None
    columns = extracted.columns
    if columns is None:  # a worker's record, of which some calls are re-sends (or raw rows join it)
        found = rows(extracted.record) if extracted.record is not None else None
        columns = found.calls if found is not None else CallColumns()
    calls = columns if every_call else columns.take(new.calls)
    spans = folded_rows(columns, folding, new.first_seen) if folding is not None and folded else []
    upgrades = upgrade_rows(columns, folding, new.first_seen) if folding is not None and folding.upgrades else []
    prices = extracted.prices if new.calls or upgrades else {}
    return store_record(calls, prices, new.raw, spans, upgrades)


def _outcome(rejected: int) -> Outcome:
    """A success, or a partial one naming the LLM spans refused."""
    if not rejected:
        return Outcome()
    return Outcome(
        rejected, f"{rejected} LLM span(s) carry a cost of a million USD or more (or not a number) and were dropped"
    )
