# SPDX-License-Identifier: Apache-2.0
"""Extraction in worker processes, so that it no longer shares one GIL with receiving and writing.

Extraction is most of the collector's CPU, and in one process it runs under one GIL whatever the number of idle
cores, so it caps what one collector ingests. `ExtractionPool.extract(body)` runs `Extractor.columns` on a worker and
returns what the queue needs: the span count, the calls refused, the calls' keys (for the duplicate filter) and
their store record, already written by the worker. Durability does not move: the receiving thread still waits
for the result, filters duplicates and appends to the queue before the request is acknowledged; a worker only
computes.

Each worker has a pipe of its own. A receiving thread takes an idle worker, writes the request's bytes to it and
reads the result back: the body is not pickled and no thread stands in between, where a `ProcessPoolExecutor`
pickles every body and hands each task and result through its management thread, in the collector's own process
and under its GIL. A worker that dies (or a pool that cannot start) is
not a lost request: `extract` returns None and the caller extracts on its own thread, while a new worker starts
in the background. A request a worker fails on is extracted by the caller too, which then raises what
extraction raises. Workers exit when the collector does, even after a kill -9 (they watch their parent).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import signal
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from llmledger._core import prices
from llmledger._core.prices import ModelPrice

from .. import cycle_collector
from ..extract import Extractor
from ..extract.attributes import DEFAULT, AttributeSelection
from ..llm_calls import CallColumns
from .call_merger import CallIdentities
from .records import store_record

_log = logging.getLogger(__name__)
MIN_BYTES = 16 << 10  # a smaller request costs less to extract here than to send to a worker and back
_START_TIMEOUT = 120.0  # seconds for a worker to import what it needs
_READY = b"ready"
_FAILED = b""  # a worker's answer for a request it could not extract (a pickled result is never empty)


@dataclass(slots=True)
class Extracted:
    """One request's calls, ready to queue: their span keys (for the duplicate filter), their identities (for the
    call merger), and either their store record as a worker wrote it (`record`, no raw rows) or, extracted in the
    collector, their `columns`; with the request's raw span rows when those are kept."""

    spans: int
    rejected: int
    keys: list[str]
    record: bytes | None
    prices: dict[str, ModelPrice]
    columns: CallColumns | None = None
    raw: Sequence[Sequence[Any]] = ()
    identities: CallIdentities | None = None  # what the call merger needs of each call (None: no call)


@dataclass(slots=True)
class _Worker:
    process: Any  # a multiprocessing SpawnProcess
    connection: Connection

    def stop(self) -> None:
        """Close its pipe (it exits on reading the end) and reap it."""
        self.connection.close()
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)


class ExtractionPool:
    def __init__(self, workers: int, attributes: AttributeSelection = DEFAULT, min_bytes: int = MIN_BYTES) -> None:
        self.min_bytes = min_bytes
        self._names = tuple(attributes.names)
        self._context = multiprocessing.get_context("spawn")  # never fork a process that runs threads
        self._changed = threading.Condition()
        self._all: list[_Worker] = []
        self._idle: list[_Worker] = []
        self._closed = False
        # Start every worker now (importing takes a second), not in the middle of the first requests.
        starting = [self._spawn() for _ in range(workers)]
        for worker in starting:
            if self._ready(worker):
                self._all.append(worker)
                self._idle.append(worker)
        if len(self._all) < workers:
            _log.error("%d of %d extraction workers did not start", workers - len(self._all), workers)

    def _spawn(self) -> _Worker:
        ours, theirs = self._context.Pipe()
        process = self._context.Process(
            target=_serve, args=(theirs, self._names, os.getpid()), name="llmledger-extract", daemon=True
        )
        process.start()
        theirs.close()  # the worker holds its end: its death is then an end of file here
        return _Worker(process, ours)

    @staticmethod
    def _ready(worker: _Worker) -> bool:
        try:
            if worker.connection.poll(_START_TIMEOUT) and worker.connection.recv_bytes() == _READY:
                return True
        except (EOFError, OSError):
            pass
        _log.error("an extraction worker did not start (exit code %s)", worker.process.exitcode)
        worker.stop()
        return False

    def extract(self, body: bytes) -> Extracted | None:
        """`body`'s calls, extracted by a worker; None when the caller should extract it itself (a small request,
        no worker to take it, or one that failed on it)."""
        if len(body) < self.min_bytes:
            return None
        worker = self._take()
        if worker is None:
            return None
        try:
            worker.connection.send_bytes(body)
            answer = worker.connection.recv_bytes()
        except (EOFError, OSError):  # it died (killed, out of memory): replace it, extract this request here
            self._lose(worker)
            return None
        self._give_back(worker)
        if answer == _FAILED:
            return None
        spans, rejected, keys, record, used, identities = pickle.loads(answer)
        return Extracted(spans, rejected, keys, record, used, identities=identities)

    def _take(self) -> _Worker | None:
        with self._changed:
            while not self._idle and self._all and not self._closed:
                self._changed.wait()
            if self._closed or not self._idle:
                return None
            return self._idle.pop()

    def _give_back(self, worker: _Worker) -> None:
        with self._changed:
            if not self._closed:
                self._idle.append(worker)
                self._changed.notify()
                return
        worker.stop()

    def _lose(self, worker: _Worker) -> None:
        with self._changed:
            if worker in self._all:
                self._all.remove(worker)
            self._changed.notify_all()  # callers waiting for a worker extract on their own if none is left
            closed = self._closed
        worker.stop()
        if not closed:
            _log.error("an extraction worker died; starting a new one")
            threading.Thread(target=self._replace, name="llmledger-extract-start", daemon=True).start()

    def _replace(self) -> None:
        worker = self._spawn()
        if not self._ready(worker):
            return
        with self._changed:
            if not self._closed:
                self._all.append(worker)
                self._idle.append(worker)
                self._changed.notify()
                return
        worker.stop()

    def pids(self) -> list[int]:
        with self._changed:
            return [worker.process.pid for worker in self._all]

    def close(self) -> None:
        """Stop the idle workers now; a busy one stops as its request is answered."""
        with self._changed:
            self._closed = True
            idle, self._idle, self._all = self._idle, [], []
            self._changed.notify_all()
        for worker in idle:
            worker.stop()


def _serve(connection: Connection, names: tuple[str, ...], parent: int) -> None:
    """A worker: extract each request read from `connection` and write back the result, until the pipe ends."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the collector's to handle; it closes the pipe
    extractor = Extractor(AttributeSelection.of(names))  # C or Python, chosen once: here
    threading.Thread(target=_exit_with, args=(parent,), name="llmledger-orphan-watch", daemon=True).start()
    prices.lookup_ns("openai", "gpt-4o-mini", time.time_ns())  # load the price data before the first request
    # A 512-span request holds a few thousand container objects until its record is written: at the default
    # threshold the cycle collector would run several times a request, for no cycle to free.
    cycle_collector.quiet()
    connection.send_bytes(_READY)
    while True:
        try:
            body = connection.recv_bytes()
        except (EOFError, OSError):
            return
        try:
            extraction = extractor.columns(body)
            columns = extraction.columns
            record = store_record(columns, extraction.prices, []) if len(columns) else None
            identities = CallIdentities.of(columns, ranked=True)  # the columns stay here
            result = (
                extraction.spans,
                extraction.rejected,
                identities.span_keys,
                record,
                extraction.prices,
                identities,
            )
            answer = pickle.dumps(result, pickle.HIGHEST_PROTOCOL)
        except Exception:  # the caller extracts it again, and answers the sender with what that raises
            answer = _FAILED
        connection.send_bytes(answer)


def _exit_with(parent: int) -> None:
    """End this worker when its collector is gone, whatever state its pipe is in."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)
