# SPDX-License-Identifier: Apache-2.0
"""Extraction in worker processes, so that it no longer shares one GIL with receiving and writing.

Extracting costs 40–60 µs a span in Python, most of the collector's CPU; in one process it capped ingest near
10k spans/s however many cores were idle. `ExtractionPool.extract(body)` runs `extract_columns` on a worker and
returns what the queue needs: the span count, the calls refused, the calls' keys (for the duplicate filter) and
their store record, already pickled by the worker. Durability does not move: the receiving thread still waits
for the result, filters duplicates and appends to the queue before the request is acknowledged; a worker only
computes. A worker that dies (or a pool that cannot start) is not a lost request: `extract` returns None and the
caller extracts on its own thread; the pool is replaced for the next request. Workers exit when the collector
does, even after a kill -9 (they watch their parent).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures import CancelledError, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from llmledger.instrumentation._shared.prices import ModelPrice

from .extract import extract_columns
from .extract.attributes import DEFAULT, AttributeSelection
from .records import store_record

_log = logging.getLogger(__name__)
MIN_BYTES = 16 << 10  # a smaller request costs less to extract here than to send to a worker and back


@dataclass(slots=True)
class Extracted:
    """One request's calls, ready to queue: `record` is their store record (no raw rows), `keys` their span keys."""

    spans: int
    rejected: int
    keys: list[str]
    record: bytes | None
    prices: dict[str, ModelPrice]


class ExtractionPool:
    def __init__(self, workers: int, attributes: AttributeSelection = DEFAULT, min_bytes: int = MIN_BYTES) -> None:
        self.workers = workers
        self.min_bytes = min_bytes
        self._attributes = attributes
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._closed = False
        self._start()

    def _start(self) -> None:
        executor = ProcessPoolExecutor(
            self.workers,
            mp_context=multiprocessing.get_context("spawn"),  # never fork a process that runs threads
            initializer=_initialize,
            initargs=(tuple(self._attributes.names), os.getpid()),
        )
        try:  # start every worker now (importing takes a second), not in the middle of the first requests
            for future in [executor.submit(_ready) for _ in range(self.workers)]:
                future.result(timeout=120)
        except Exception as error:  # a pool that cannot start: extraction stays on the receiving threads
            _log.error("extraction workers did not start, extracting in the collector process: %s", error)
            executor.shutdown(wait=False, cancel_futures=True)
            return
        self._executor = executor

    def extract(self, body: bytes) -> Extracted | None:
        """`body`'s calls, extracted by a worker; None when the caller should extract it itself (a small request,
        or no worker to take it)."""
        executor = self._executor
        if executor is None or len(body) < self.min_bytes:
            return None
        try:
            return executor.submit(_extract, body).result()
        except CancelledError:  # the pool closed (the collector is stopping) before a worker took it
            return None
        except RuntimeError as error:  # BrokenProcessPool, or submit() refusing a pool being closed
            if not isinstance(error, BrokenProcessPool):
                return None
            # a worker died (killed, out of memory): replace the pool, extract this request here
            _log.error("an extraction worker died; starting new workers")
            self._replace(executor)
            return None

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._executor is not broken or self._closed:
                return  # another thread replaced it already
            self._executor = None
            broken.shutdown(wait=False, cancel_futures=True)
            self._start()

    def pids(self) -> list[int]:
        executor = self._executor
        processes = getattr(executor, "_processes", None) or {}
        return list(processes)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)


_selection = DEFAULT


def _initialize(names: tuple[str, ...], parent: int) -> None:
    global _selection
    _selection = AttributeSelection.of(names)
    threading.Thread(target=_exit_with, args=(parent,), name="llmledger-orphan-watch", daemon=True).start()


def _exit_with(parent: int) -> None:
    """End this worker when its collector is gone (a kill -9 leaves the pool's pipes open, so workers would wait)."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


def _ready() -> bool:
    return True


def _extract(body: bytes) -> Extracted:
    extraction = extract_columns(body, _selection)
    columns = extraction.columns
    record = store_record(columns, extraction.prices, []) if len(columns) else None
    return Extracted(extraction.spans, extraction.rejected, list(columns.keys()), record, extraction.prices)
