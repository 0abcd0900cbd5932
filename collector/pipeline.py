# SPDX-License-Identifier: Apache-2.0
"""From received requests to stored rows: extract, de-duplicate, batch, write; forward the original bytes.

Receivers call `accept()` on their own threads; it extracts the request's LLM calls (and raw span rows when
asked), drops spans already seen (a short-lived (trace id, span id) memory: SDK re-sends would otherwise be
counted twice by the rollups), appends to the pending batch and returns. One writer thread flushes a batch when
it reaches `batch_size` rows or `flush_interval` seconds have passed, retrying transient ClickHouse errors with
the same deduplication token. Pending rows are bounded: past `max_pending_rows` `accept()` raises
`Backpressure` and receivers answer 429 / RESOURCE_EXHAUSTED, so memory stays bounded while ClickHouse is down.
Forwarding runs on its own thread and queue; it never delays or fails storage.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from llmledger.instrumentation._shared.prices import ModelPrice

from .calls import LlmCall
from .extract import Extraction, extract_calls
from .extract.attributes import DEFAULT, AttributeSelection
from .forward import Forwarder
from .rawspans import raw_span_rows
from .store import Store

_log = logging.getLogger(__name__)
_MARKERS = (b"gen_ai.", b"llm.", b"openinference.span.kind")
_COST_LIMIT = 1_000_000  # Decimal(18, 12) holds less than a million USD per call


class Backpressure(Exception):
    """Too much is waiting for ClickHouse; the client should retry after `retry_after` seconds."""

    def __init__(self, retry_after: int = 5) -> None:
        super().__init__(f"the collector is behind on writing to ClickHouse; retry after {retry_after} s")
        self.retry_after = retry_after


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
    rejected: int = 0
    calls_written: int = 0
    raw_written: int = 0
    write_errors: int = 0


@dataclass(slots=True)
class _Pending:
    calls: list[LlmCall] = field(default_factory=list)
    prices: dict[str, ModelPrice] = field(default_factory=dict)
    raw: list[list[Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return max(len(self.calls), len(self.raw))


class SeenSpans:
    """The last `capacity` span keys (trace id + span id, hex), oldest forgotten first.

    Sized for SDK retries, which come within seconds: 200k keys cost about 30 MB. A re-send after the key was
    forgotten (or after a restart) still collapses in `llm_calls` under FINAL; only the rollups would count it
    twice, which the periodic rollup reconciliation of research/schemas.md §3.6 is there to correct.
    """

    def __init__(self, capacity: int = 200_000) -> None:
        self._seen: dict[str, None] = {}
        self._capacity = capacity

    def add(self, key: str) -> bool:
        """True if `key` is new (and now remembered)."""
        seen = self._seen
        if key in seen:
            return False
        seen[key] = None
        if len(seen) > self._capacity:
            del seen[next(iter(seen))]
        return True


class Pipeline:
    def __init__(
        self,
        store: Store,
        *,
        batch_size: int = 10_000,
        flush_interval: float = 1.0,
        store_raw_spans: bool = False,
        forwarder: Forwarder | None = None,
        max_pending_rows: int = 500_000,
        retry_delay: float = 0.5,
        attributes: AttributeSelection = DEFAULT,
    ) -> None:
        self.store = store
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.store_raw_spans = store_raw_spans
        self.forwarder = forwarder
        self.max_pending_rows = max_pending_rows
        self.attributes = attributes  # which custom span attributes go into llm_calls.Attributes
        self.stats = PipelineStats()
        self._retry_delay = retry_delay
        self._pending = _Pending()
        self._seen_calls = SeenSpans()
        self._seen_raw = SeenSpans()
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._stopping = False
        self._writing = 0  # rows in the batch being written (counted against max_pending_rows)
        self._writer = threading.Thread(target=self._run, name="llmledger-writer", daemon=True)

    # -- receiving ---------------------------------------------------------------------------------------
    def accept(self, request: ExportTraceServiceRequest, body: bytes | None = None) -> Outcome:
        """Take one request. `body`: its serialized protobuf if the caller has it (forwarded as is)."""
        if len(self._pending) + self._writing >= self.max_pending_rows:
            raise Backpressure()
        if self.forwarder is not None:
            self.forwarder.submit(body if body is not None else request.SerializeToString())
        extraction = Extraction()
        if body is None or any(marker in body for marker in _MARKERS):
            extract_calls(body if body is not None else request, extraction, self.attributes)
        else:
            extraction.spans = sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)
        calls, rejected = _storable(extraction.calls)
        raw = raw_span_rows(request) if self.store_raw_spans else []
        with self._lock:
            stats = self.stats
            stats.requests += 1
            stats.spans += extraction.spans
            stats.rejected += rejected
            pending = self._pending
            for call in calls:
                if self._seen_calls.add(call.trace_id + call.span_id):
                    pending.calls.append(call)
                    stats.calls += 1
                else:
                    stats.duplicates += 1
            for row in raw:
                if self._seen_raw.add(row[1] + row[2]):
                    pending.raw.append(row)
            pending.prices.update(extraction.prices)
            if len(pending) >= self.batch_size:
                self._wake.notify()
        if rejected:
            return Outcome(rejected, f"{rejected} LLM span(s) carry a cost of a million USD or more and were dropped")
        return Outcome()

    # -- writing -----------------------------------------------------------------------------------------
    def start(self) -> Pipeline:
        self._writer.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Write everything pending (within `timeout`), then stop the writer."""
        with self._lock:
            self._stopping = True
            self._wake.notify()
        self._writer.join(timeout)

    def _run(self) -> None:
        while True:
            with self._lock:
                deadline = time.monotonic() + self.flush_interval
                while not self._stopping and len(self._pending) < self.batch_size:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._wake.wait(remaining)
                batch, self._pending = self._pending, _Pending()
                self._writing = len(batch)
                stopping = self._stopping
            if len(batch):
                self._write(batch, give_up=stopping)
            with self._lock:
                self._writing = 0
                if self._stopping and not len(self._pending):
                    return

    def _write(self, batch: _Pending, *, give_up: bool) -> None:
        from .clickhouse.errors import ClickHouseError

        for start in range(0, max(len(batch.calls), len(batch.raw)), self.batch_size):
            calls = batch.calls[start : start + self.batch_size]
            raw = batch.raw[start : start + self.batch_size]
            attempt = 0
            while True:
                try:
                    if calls:
                        self.store.write_calls(calls, batch.prices.values(), _token("calls", calls))
                        self.stats.calls_written += len(calls)
                        calls = []
                    if raw:
                        self.store.write_raw_spans(raw, _token("raw", raw))
                        self.stats.raw_written += len(raw)
                    break
                except ClickHouseError as error:
                    self.stats.write_errors += 1
                    attempt += 1
                    if not error.transient or (give_up and attempt >= 3):
                        _log.error("dropping a batch ClickHouse refused: %s", error)
                        break
                    _log.warning("writing to ClickHouse failed (attempt %d), retrying: %s", attempt, error)
                    time.sleep(min(self._retry_delay * 2 ** min(attempt, 6), 30))
                except ValueError as error:
                    self.stats.write_errors += 1
                    _log.error("dropping a batch that cannot be stored: %s", error)
                    break


def _storable(calls: list[LlmCall]) -> tuple[list[LlmCall], int]:
    """Calls the table can hold, and how many it cannot (a cost too large for Decimal(18, 12))."""
    if all(call.total_cost < _COST_LIMIT for call in calls):
        return calls, 0
    kept = [call for call in calls if call.total_cost < _COST_LIMIT]
    return kept, len(calls) - len(kept)


def _token(kind: str, rows: list[Any]) -> str:
    """A deduplication token from what the batch is (its span ids), never from when it is sent."""
    digest = hashlib.blake2b(digest_size=16)
    if kind == "calls":
        for call in rows:
            digest.update(call.trace_id.encode())
            digest.update(call.span_id.encode())
    else:
        for row in rows:
            digest.update(row[1].encode())
            digest.update(row[2].encode())
    return f"llmledger-{kind}-{len(rows)}-{digest.hexdigest()}"
