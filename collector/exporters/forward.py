# SPDX-License-Identifier: Apache-2.0
"""Forwarding every received request, unchanged, to another OTLP receiver (Jaeger, an OTel Collector, rotel…).

The original `ExportTraceServiceRequest` bytes are sent as they came (no re-encoding; a gzip body is sent
decompressed, and only an OTLP/JSON request is encoded, to protobuf, since it has no protobuf bytes), from a
background thread reading the durable queue with its own cursor, four requests in flight at a time, with
jittered exponential backoff on transient failures (gRPC UNAVAILABLE and friends, HTTP 429/502/503/504 and
connection errors, honouring Retry-After). Delivery is at least once: a crash re-sends what was in flight and at
most the last half second of requests. Forwarding never blocks or fails storage: when the queue is full and the
forwarder is the one behind, its oldest segment is skipped and counted (`DiskQueue(sheddable=…)`).

Metrics and logs requests travel the same way, in queue order with the traces, to the same target: over gRPC to
their own service's `Export`, over HTTP to the sibling paths of the traces URL (`signal_urls`). A target that
does not take a signal at all (gRPC UNIMPLEMENTED, HTTP 404 or 405: Jaeger takes traces only) has its requests
of that signal dropped and counted in `stats.unsupported`, with one warning per signal rather than one a request.
"""

from __future__ import annotations

import functools
import http.client
import logging
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from ..backoff import Backoff
from ..otlp.signals import Signal, method
from ..pipeline.queue import DiskQueue, Record
from ..pipeline.records import forwarded

_log = logging.getLogger(__name__)
CONSUMER = "forward"
_COMMIT_EVERY = 0.5  # seconds between cursor commits while sending (a crash re-sends at most this much)
_IN_FLIGHT = 4  # requests sent at once
# Requests queued together are joined up to this size: a quarter of the 4 MiB that gRPC receivers (the OTel
# Collector's, Jaeger's) take by default.
MERGE_BYTES = 1 << 20
_RETRYABLE_HTTP = frozenset({408, 429, 502, 503, 504})
_UNSUPPORTED_HTTP = frozenset({404, 405})
_SIGNALS: tuple[Signal, ...] = ("traces", "metrics", "logs")


class ForwardError(Exception):
    def __init__(
        self, message: str, *, retryable: bool, retry_after: float | None = None, unsupported: bool = False
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.unsupported = unsupported  # the target serves no such method or path


@dataclass(slots=True)
class ForwardStats:
    sent: int = 0
    failed: int = 0
    retries: int = 0
    unsupported: int = 0  # metrics or logs requests dropped because the target does not take that signal


class Sender(Protocol):
    def __call__(self, body: bytes, signal: Signal = "traces") -> None:
        """Send one serialized request of `signal`; ForwardError if it was not taken."""

    def close(self) -> None: ...


def sender_for(url: str, timeout: float = 10.0) -> Sender:
    """A function sending one serialized request to `url`: `grpc://host:port` or `http[s]://host:port[/path]`."""
    parts = urlsplit(url)
    if parts.scheme == "grpc":
        return _GrpcSender(parts.netloc, timeout)
    if parts.scheme in ("http", "https"):
        return _HttpSender(signal_urls(url), timeout)
    raise ValueError(f"--forward {url!r}: use grpc://host:port or http://host:port")


def signal_urls(url: str) -> dict[Signal, str]:
    """Where an OTLP/HTTP forward URL sends each signal.

    No path: the OTLP paths, `/v1/traces`, `/v1/metrics`, `/v1/logs`. A path ending in `traces` is the traces
    URL, and metrics and logs go to its siblings (`…/v1/traces` → `…/v1/metrics`, `…/v1/logs`). Any other path
    takes the traces as it always did, and is the base of the other two (`/otlp` → `/otlp/v1/metrics`), as the
    OpenTelemetry SDK's `OTEL_EXPORTER_OTLP_ENDPOINT` would be.
    """
    parts = urlsplit(url)
    base = f"{parts.scheme}://{parts.netloc}"
    path = parts.path.rstrip("/")
    if not path:
        return {signal: f"{base}/v1/{signal}" for signal in _SIGNALS}
    head, _, last = path.rpartition("/")
    if last == "traces":
        return {signal: f"{base}{head}/{signal}" for signal in _SIGNALS}
    return {"traces": f"{base}{parts.path}", "metrics": f"{base}{path}/v1/metrics", "logs": f"{base}{path}/v1/logs"}


class _GrpcSender:
    def __init__(self, target: str, timeout: float) -> None:
        import grpc

        self._grpc = grpc
        self._channel = grpc.insecure_channel(target)
        # Identity serializer: the bytes we received go out as they are. (`_registered_method` is a private grpcio
        # keyword, absent from its stubs.)
        self._exports: dict[Signal, grpc.UnaryUnaryMultiCallable[bytes, bytes]] = {
            signal: self._channel.unary_unary(  # type: ignore[call-arg]
                method(signal), request_serializer=None, response_deserializer=None, _registered_method=False
            )
            for signal in _SIGNALS
        }
        self._timeout = timeout

    def __call__(self, body: bytes, signal: Signal = "traces") -> None:
        grpc = self._grpc
        try:
            self._exports[signal](body, timeout=self._timeout)
        except grpc.RpcError as error:
            code = error.code()
            retryable = code in (
                grpc.StatusCode.UNAVAILABLE,
                grpc.StatusCode.DEADLINE_EXCEEDED,
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                grpc.StatusCode.ABORTED,
                grpc.StatusCode.CANCELLED,
            )
            raise ForwardError(
                f"gRPC {code.name}: {error.details()}",
                retryable=retryable,
                unsupported=code == grpc.StatusCode.UNIMPLEMENTED,
            ) from None

    def close(self) -> None:
        self._channel.close()


class _HttpSender:
    def __init__(self, urls: dict[Signal, str], timeout: float) -> None:
        self._urls = urls
        self._timeout = timeout

    def __call__(self, body: bytes, signal: Signal = "traces") -> None:
        url = self._urls[signal]
        request = urllib.request.Request(
            url, data=body, method="POST", headers={"Content-Type": "application/x-protobuf"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                response.read()
        except urllib.error.HTTPError as error:
            after = error.headers.get("Retry-After")
            raise ForwardError(
                f"HTTP {error.code} from {url}",
                retryable=error.code in _RETRYABLE_HTTP,
                retry_after=float(after) if after and after.isdigit() else None,
                unsupported=error.code in _UNSUPPORTED_HTTP,
            ) from None
        except (OSError, http.client.HTTPException) as error:  # refused, reset, timed out, a garbled reply
            raise ForwardError(f"{url}: {error}", retryable=True) from None

    def close(self) -> None:
        pass


class Forwarder:
    """Sends the queue's forward records on `in_flight` threads at once, committing its own cursor as it goes.

    Requests go out concurrently because one at a time, the rate is one request per round trip: a remote Jaeger,
    or a receiver whose window updates wait on delayed ACKs (as rotel's gRPC server does with grpcio, even on
    loopback), would cap forwarding far below what the collector receives. The
    cursor only moves past a request once it and every request before it are done, so a crash or a stop re-sends
    what was in flight, never skips it. A retryable failure is retried, by the thread that sent it, with jittered
    exponential backoff (a Retry-After wins) for as long as it takes; a request the target refuses for good is
    dropped and counted in `stats.failed`.

    Requests of one signal that are queued together go out joined into one, up to `merge_bytes` (`merged`), as
    the OpenTelemetry Collector's batching sends them: most of what an export costs the collector is per call, not
    per byte, and a service's spans come in many small requests. `merge_bytes=0`: one export a request.
    """

    def __init__(
        self,
        url: str,
        *,
        initial_backoff: float = 0.2,
        max_backoff: float = 10.0,
        in_flight: int = _IN_FLIGHT,
        merge_bytes: int = MERGE_BYTES,
    ) -> None:
        self.url = url
        self.merge_bytes = merge_bytes
        self._send = sender_for(url)
        self.stats = ForwardStats()
        self.queue: DiskQueue | None = None
        self._in_flight = in_flight
        self._backoff = functools.partial(Backoff, initial_backoff, max_backoff)
        self._counting = threading.Lock()  # the sending threads update `stats`
        self._unsupported_said: set[Signal] = set()  # signals the target refused as unsupported, warned about once
        self._stopping = threading.Event()
        self._abort = threading.Event()
        self._thread = threading.Thread(target=self._run, name="llmledger-forward", daemon=True)

    def start(self, queue: DiskQueue) -> Forwarder:
        self.queue = queue
        self._thread.start()
        return self

    def stop(self, drain_timeout: float = 5.0) -> None:
        """Send what is queued within `drain_timeout`, commit, stop; the rest is sent after the next start."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(drain_timeout)
            self._abort.set()
            self._thread.join(5.0)
        self._send.close()

    def _run(self) -> None:
        queue = self.queue
        assert queue is not None
        read = committed = queue.cursor(CONSUMER).committed
        last_commit = time.monotonic()
        sending = _Sending(self._in_flight, self._deliver, read)
        try:
            while not self._abort.is_set() and not sending.aborted:
                records = queue.read(read, timeout=0.0 if self._stopping.is_set() else 0.2)
                for request, end in merged(records, self.merge_bytes):
                    if not sending.add(request, end):
                        break
                    read = end
                sending.settle(wait=not records and self._stopping.is_set())
                if sending.done != committed and (not records or time.monotonic() - last_commit > _COMMIT_EVERY):
                    queue.commit(CONSUMER, sending.done)
                    committed, last_commit = sending.done, time.monotonic()
                if not records and self._stopping.is_set() and sending.idle:
                    break
        finally:
            sending.close()
        if sending.done != committed:  # what was in flight from an aborted request on stays for the next start
            queue.commit(CONSUMER, sending.done)

    def _deliver(self, outgoing: Outgoing) -> bool:
        """Send one request (of `outgoing.requests` received ones); False if aborted before it went out."""
        signal = outgoing.signal
        backoff = self._backoff(self._abort)
        while True:
            try:
                self._send(outgoing.body, signal)
                with self._counting:
                    self.stats.sent += outgoing.requests
                return True
            except ForwardError as error:
                if error.unsupported and signal != "traces":  # e.g. Jaeger, which takes traces only
                    self._unsupported(outgoing, error)
                    return True
                if not error.retryable:
                    with self._counting:
                        self.stats.failed += outgoing.requests
                    _log.warning("forwarding to %s refused, request dropped (counted): %s", self.url, error)
                    return True
                with self._counting:
                    self.stats.retries += 1
                if not backoff.wait(error.retry_after):
                    return False

    def _unsupported(self, outgoing: Outgoing, error: ForwardError) -> None:
        signal = outgoing.signal
        with self._counting:
            self.stats.unsupported += outgoing.requests
            first = signal not in self._unsupported_said
            self._unsupported_said.add(signal)
        if first:
            _log.warning(
                "forwarding to %s: the target does not take OTLP %s (%s); they are dropped and counted in "
                'llmledger_collector_dropped_total{reason="forward_unsupported"}, without a warning each time',
                self.url,
                signal,
                error,
            )


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One request to send: of `signal`, its bytes, and how many received requests they join."""

    signal: Signal
    body: bytes
    requests: int = 1


def merged(records: Iterable[Record], max_bytes: int) -> Iterator[tuple[Outgoing | None, int]]:
    """The requests of `records` to send, in queue order, each with the queue position after it: consecutive
    requests of one signal joined into one while it stays within `max_bytes` (a larger one goes alone), records
    with nothing to forward (None) folded into the request before them.

    Joining is protobuf's own merge: two serialized messages written one after the other parse as one message
    with the repeated fields of both, so an Export request of two requests' bytes holds the resources, and spans,
    data points or log records, of both, unchanged and in order.
    """
    signal: Signal = "traces"  # of the requests in `parts`
    parts: list[memoryview] = []
    size = end = 0
    for record in records:
        found = forwarded(record.payload)
        if found is not None:
            if parts and (found[0] != signal or size + len(found[1]) > max_bytes):
                yield _outgoing(signal, parts), end
                parts, size = [], 0
            signal = found[0]
            parts.append(found[1])
            size += len(found[1])
        end = record.end
        if not parts:
            yield None, end
    if parts:
        yield _outgoing(signal, parts), end


def _outgoing(signal: Signal, parts: list[memoryview]) -> Outgoing:
    return Outgoing(signal, parts[0].tobytes() if len(parts) == 1 else b"".join(parts), len(parts))


class _Sending:
    """Requests in flight, in queue order, and the queue position up to which every one of them is done."""

    def __init__(self, limit: int, deliver: Callable[[Outgoing], bool], start: int) -> None:
        self._limit = limit
        self._deliver = deliver
        self._pool = ThreadPoolExecutor(limit, thread_name_prefix="llmledger-forward-send")
        self._pending: deque[tuple[int, Future[bool] | None]] = deque()  # (queue position after it, its send)
        self._sends = 0  # futures in `_pending`
        self.done = start
        self.aborted = False  # a request was given up by a stop: nothing after it may count as done

    @property
    def idle(self) -> bool:
        return not self._pending

    def add(self, request: Outgoing | None, end: int) -> bool:
        """Send `request` (None: a record with nothing to forward) once fewer than `limit` are in flight; False
        if one before it was aborted meanwhile."""
        while self._sends >= self._limit and not self.aborted:
            self.settle(wait=True)
        if self.aborted:
            return False
        if request is None:
            self._pending.append((end, None))
        else:
            self._pending.append((end, self._pool.submit(self._deliver, request)))
            self._sends += 1
        return True

    def settle(self, *, wait: bool) -> None:
        """Move `done` past the finished requests at the head, first waiting for the oldest send if `wait`."""
        pending = self._pending
        while pending and not self.aborted:
            end, future = pending[0]
            if future is not None:
                if not (wait or future.done()):
                    return
                wait = False
                if not future.result():
                    self.aborted = True
                    return
                self._sends -= 1
            pending.popleft()
            self.done = end

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
