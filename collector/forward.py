# SPDX-License-Identifier: Apache-2.0
"""Forwarding every received request, unchanged, to another OTLP receiver (Jaeger, an OTel Collector, rotel…).

The original `ExportTraceServiceRequest` bytes are sent as they came (no re-encoding; a gzip body is sent
decompressed, and only an OTLP/JSON request is encoded, to protobuf, since it has no protobuf bytes), from a
background thread fed by a bounded queue, with jittered exponential backoff on transient failures (gRPC
UNAVAILABLE and friends, HTTP 429/502/503/504 and connection errors, honouring Retry-After). Forwarding never
blocks or fails storage: when the queue is full the oldest request is dropped and counted. The queue is the
seam for a disk queue later: anything with `put(bytes)`, `get(timeout)`, `requeue(bytes)` and `qsize()` can
replace `BoundedQueue`.
"""

from __future__ import annotations

import collections
import logging
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

_log = logging.getLogger(__name__)
_EXPORT_METHOD = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
_RETRYABLE_HTTP = frozenset({408, 429, 502, 503, 504})


class ForwardError(Exception):
    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


class BoundedQueue:
    """In-memory FIFO of request bodies; full → the oldest is dropped (and counted), never the caller blocked."""

    def __init__(self, max_items: int = 10_000) -> None:
        self._items: collections.deque[bytes] = collections.deque()
        self._max = max_items
        self._ready = threading.Condition()
        self.dropped = 0

    def put(self, body: bytes) -> None:
        with self._ready:
            if len(self._items) >= self._max:
                self._items.popleft()
                self.dropped += 1
            self._items.append(body)
            self._ready.notify()

    def get(self, timeout: float) -> bytes | None:
        with self._ready:
            if not self._items:
                self._ready.wait(timeout)
            return self._items.popleft() if self._items else None

    def requeue(self, body: bytes) -> None:
        with self._ready:
            self._items.appendleft(body)

    def qsize(self) -> int:
        return len(self._items)


@dataclass(slots=True)
class ForwardStats:
    sent: int = 0
    failed: int = 0
    retries: int = 0


def sender_for(url: str, timeout: float = 10.0) -> Callable[[bytes], None]:
    """A function sending one serialized request to `url`: `grpc://host:port` or `http[s]://host:port[/path]`."""
    parts = urlsplit(url)
    if parts.scheme == "grpc":
        return _GrpcSender(parts.netloc, timeout)
    if parts.scheme in ("http", "https"):
        path = parts.path if parts.path not in ("", "/") else "/v1/traces"
        return _HttpSender(f"{parts.scheme}://{parts.netloc}{path}", timeout)
    raise ValueError(f"--forward {url!r}: use grpc://host:port or http://host:port")


class _GrpcSender:
    def __init__(self, target: str, timeout: float) -> None:
        import grpc

        self._grpc = grpc
        self._channel = grpc.insecure_channel(target)
        # Identity serializer: the bytes we received go out as they are.
        self._export = self._channel.unary_unary(
            _EXPORT_METHOD, request_serializer=None, response_deserializer=None, _registered_method=False
        )
        self._timeout = timeout

    def __call__(self, body: bytes) -> None:
        grpc = self._grpc
        try:
            self._export(body, timeout=self._timeout)
        except grpc.RpcError as error:
            code = error.code()  # type: ignore[attr-defined]
            retryable = code in (
                grpc.StatusCode.UNAVAILABLE,
                grpc.StatusCode.DEADLINE_EXCEEDED,
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                grpc.StatusCode.ABORTED,
                grpc.StatusCode.CANCELLED,
            )
            raise ForwardError(f"gRPC {code.name}: {error.details()}", retryable=retryable) from None  # type: ignore[attr-defined]

    def close(self) -> None:
        self._channel.close()


class _HttpSender:
    def __init__(self, url: str, timeout: float) -> None:
        self._url = url
        self._timeout = timeout

    def __call__(self, body: bytes) -> None:
        request = urllib.request.Request(
            self._url, data=body, method="POST", headers={"Content-Type": "application/x-protobuf"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                response.read()
        except urllib.error.HTTPError as error:
            after = error.headers.get("Retry-After")
            raise ForwardError(
                f"HTTP {error.code} from {self._url}",
                retryable=error.code in _RETRYABLE_HTTP,
                retry_after=float(after) if after and after.isdigit() else None,
            ) from None
        except OSError as error:
            raise ForwardError(f"{self._url}: {error}", retryable=True) from None

    def close(self) -> None:
        pass


class Forwarder:
    """Sends queued requests on one daemon thread; `stop()` drains what it can within `drain_timeout`."""

    def __init__(
        self,
        url: str,
        *,
        queue: BoundedQueue | None = None,
        max_attempts: int = 8,
        initial_backoff: float = 0.2,
        max_backoff: float = 10.0,
    ) -> None:
        self.url = url
        self._send = sender_for(url)
        self.queue = queue or BoundedQueue()
        self.stats = ForwardStats()
        self._max_attempts = max_attempts
        self._initial = initial_backoff
        self._max_backoff = max_backoff
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="llmledger-forward", daemon=True)

    def start(self) -> Forwarder:
        self._thread.start()
        return self

    def submit(self, body: bytes) -> None:
        self.queue.put(body)

    def stop(self, drain_timeout: float = 5.0) -> None:
        deadline = time.monotonic() + drain_timeout
        while self.queue.qsize() and time.monotonic() < deadline and self._thread.is_alive():
            time.sleep(0.05)
        self._stopping.set()
        self._thread.join(timeout=max(deadline - time.monotonic(), 0.5))
        getattr(self._send, "close", lambda: None)()

    def _run(self) -> None:
        while not self._stopping.is_set():
            body = self.queue.get(timeout=0.2)
            if body is not None:
                self._deliver(body)

    def _deliver(self, body: bytes) -> None:
        backoff = self._initial
        for attempt in range(1, self._max_attempts + 1):
            try:
                self._send(body)
                self.stats.sent += 1
                return
            except ForwardError as error:
                if not error.retryable or attempt == self._max_attempts:
                    self.stats.failed += 1
                    _log.warning("forwarding to %s failed, request dropped: %s", self.url, error)
                    return
                self.stats.retries += 1
                delay = error.retry_after if error.retry_after is not None else backoff * random.uniform(0.5, 1.5)
                backoff = min(backoff * 2, self._max_backoff)
                if self._stopping.wait(delay):
                    self.queue.requeue(body)  # shutting down: leave it for whoever drains the queue next
                    return
