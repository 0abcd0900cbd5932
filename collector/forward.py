# SPDX-License-Identifier: Apache-2.0
"""Forwarding every received request, unchanged, to another OTLP receiver (Jaeger, an OTel Collector, rotel…).

The original `ExportTraceServiceRequest` bytes are sent as they came (no re-encoding; a gzip body is sent
decompressed, and only an OTLP/JSON request is encoded, to protobuf, since it has no protobuf bytes), from a
background thread reading the durable queue with its own cursor, with jittered exponential backoff on
transient failures (gRPC UNAVAILABLE and friends, HTTP 429/502/503/504 and connection errors, honouring
Retry-After). Delivery is at least once: a crash re-sends at most the last half second of requests. Forwarding
never blocks or fails storage: when the queue is full and the forwarder is the one behind, its oldest segment is
skipped and counted (`DiskQueue(sheddable=…)`).
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from .backoff import Backoff
from .queue import DiskQueue
from .records import body

_log = logging.getLogger(__name__)
CONSUMER = "forward"
_COMMIT_EVERY = 0.5  # seconds between cursor commits while sending (a crash re-sends at most this much)
_EXPORT_METHOD = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
_RETRYABLE_HTTP = frozenset({408, 429, 502, 503, 504})


class ForwardError(Exception):
    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


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
        # Identity serializer: the bytes we received go out as they are. (`_registered_method` is a private grpcio
        # keyword, absent from its stubs.)
        self._export: grpc.UnaryUnaryMultiCallable[bytes, bytes] = self._channel.unary_unary(  # type: ignore[call-arg]
            _EXPORT_METHOD, request_serializer=None, response_deserializer=None, _registered_method=False
        )
        self._timeout = timeout

    def __call__(self, body: bytes) -> None:
        grpc = self._grpc
        try:
            self._export(body, timeout=self._timeout)
        except grpc.RpcError as error:
            code = error.code()
            retryable = code in (
                grpc.StatusCode.UNAVAILABLE,
                grpc.StatusCode.DEADLINE_EXCEEDED,
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                grpc.StatusCode.ABORTED,
                grpc.StatusCode.CANCELLED,
            )
            raise ForwardError(f"gRPC {code.name}: {error.details()}", retryable=retryable) from None

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
    """Sends the queue's forward records, in order, on one daemon thread, committing its own cursor as it goes.

    A retryable failure is retried with jittered exponential backoff (a Retry-After wins) for as long as it
    takes; a request the target refuses for good is dropped and counted in `stats.failed`.
    """

    def __init__(self, url: str, *, initial_backoff: float = 0.2, max_backoff: float = 10.0) -> None:
        self.url = url
        self._send = sender_for(url)
        self.stats = ForwardStats()
        self.queue: DiskQueue | None = None
        self._stopping = threading.Event()
        self._abort = threading.Event()
        self._backoff = Backoff(initial_backoff, max_backoff, self._abort)
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
        getattr(self._send, "close", lambda: None)()

    def _run(self) -> None:
        queue = self.queue
        assert queue is not None
        position = committed = queue.cursor(CONSUMER).committed
        last_commit = time.monotonic()
        while not self._abort.is_set():
            records = queue.read(position, timeout=0.0 if self._stopping.is_set() else 0.2)
            for record in records:
                request = body(record.payload)
                if request is not None and not self._deliver(request):
                    break
                position = record.end
            if position != committed and (not records or time.monotonic() - last_commit > _COMMIT_EVERY):
                queue.commit(CONSUMER, position)
                committed, last_commit = position, time.monotonic()
            if not records and self._stopping.is_set():
                break
        if position != committed:
            queue.commit(CONSUMER, position)

    def _deliver(self, request: bytes) -> bool:
        """Send one request; False if aborted before it went out."""
        while True:
            try:
                self._send(request)
                self.stats.sent += 1
                self._backoff.reset()
                return True
            except ForwardError as error:
                if not error.retryable:
                    self.stats.failed += 1
                    _log.warning("forwarding to %s refused, request dropped (counted): %s", self.url, error)
                    return True
                self.stats.retries += 1
                if not self._backoff.wait(error.retry_after):
                    return False
