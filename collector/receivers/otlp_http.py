# SPDX-License-Identifier: Apache-2.0
"""OTLP/HTTP receiver: `POST /v1/traces`, `/v1/metrics` and `/v1/logs`, protobuf or JSON, identity or gzip; plus a
small registry of GET routes.

Metrics and logs get the same checks, limits, token and refusals as traces; they are parsed (their validation),
then passed on by `Pipeline.accept_signal` (forwarded, or counted and dropped) and answered with an empty
Export…ServiceResponse.

The stdlib `ThreadingHTTPServer` with HTTP/1.1 keep-alive: the SDK exporters reuse one connection, the work per
request is protobuf parsing and extraction (not HTTP), and it needs no dependency. Answers follow the OTLP/HTTP
spec: the response in the request's encoding (partial success when spans were rejected), 400 with a
`google.rpc.Status` for bad payloads, 401 (`WWW-Authenticate: Bearer`) without the token when one is set,
404/405/411/413/415 for the wrong path, method, length, size or type, and 429 with Retry-After when the pipeline
is full. Every refusal is counted by reason in `rejections`.

Limits against hostile senders: a body over `max_request_bytes` is refused before it is read (413), and so is a
gzip body that would decompress past it, found while decompressing in bounded steps, so a gzip bomb never
allocates more than the limit. A connection that sends nothing for `idle_timeout` seconds (60 by default), between
requests or in the middle of one, is closed: each connection holds a thread, and a client that opens many and
goes quiet (slowloris) would otherwise hold them forever. Exporters reconnect transparently, as they do after any
keep-alive close.

GET routes. `routes` maps a path to a handler taking no arguments and returning `(status, content type, body)`:

    def budget_status() -> tuple[int, str, bytes]:
        return 200, "application/json", b'{"ok": true}'

    HttpReceiver(pipeline, "127.0.0.1", 4318, routes={"/v1/budgets/status": budget_status})

A handler runs on the request's thread for each GET of its path (the query string is ignored); an exception in it
is logged and answered 500. `query_routes` are the same but take the query string (`days=7&tenant=acme`), for
pages whose URL says what to show. When a token is set every route needs it, except `OPEN_PATHS` (`/healthz`,
`/readyz`), which orchestrators probe without credentials, and `open_paths` (the dashboard's page, which holds
no data: its data route needs the token).
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import ssl
import threading
import zlib
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

from google.protobuf.message import DecodeError
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from ..otlp.jsonformat import InvalidOtlpJson
from ..otlp.jsonformat import parse as parse_json
from ..otlp.signals import LOGS, METRICS, PassedSignal
from ..otlp.wire import TraceExport
from ..pipeline.memory_limit import MemoryPressure, Reservation
from ..pipeline.pipeline import Backpressure, Outcome, Pipeline, RequestTooLarge
from . import _rejections as reasons
from ._access import BearerToken
from ._rejections import Rejections
from ._tls import TlsFiles

_log = logging.getLogger(__name__)
TRACES_PATH = "/v1/traces"
PASSED_PATHS = {signal.path: signal for signal in (METRICS, LOGS)}
EXPORT_PATHS = frozenset({TRACES_PATH, *PASSED_PATHS})
_EXPORTS = f"POST {TRACES_PATH}, {METRICS.path} or {LOGS.path}"
OPEN_PATHS = frozenset({"/healthz", "/readyz"})
MAX_BODY_BYTES = 64 * 1024 * 1024
_Request = TypeVar("_Request")
_TRACES = ExportTraceServiceRequest.DESCRIPTOR.name
PROTOBUF = "application/x-protobuf"
JSON = "application/json"
_PROTOCOL = "http"
_HANDSHAKE_SECONDS = 30.0
IDLE_TIMEOUT_SECONDS = 60.0
_GUNZIP_STEP = 1 << 20

Route = Callable[[], tuple[int, str, bytes]]
QueryRoute = Callable[[str], tuple[int, str, bytes]]  # takes the URL's query string

# HTTP status → (google.rpc.Code of the Status body, rejection reason)
_REFUSALS = {
    400: (3, reasons.MALFORMED),  # INVALID_ARGUMENT
    401: (16, reasons.UNAUTHENTICATED),
    404: (5, reasons.UNSUPPORTED),  # NOT_FOUND
    405: (12, reasons.UNSUPPORTED),  # UNIMPLEMENTED
    411: (3, reasons.MALFORMED),
    413: (8, reasons.TOO_LARGE),  # RESOURCE_EXHAUSTED
    415: (3, reasons.UNSUPPORTED),
    429: (8, reasons.BACKPRESSURE),
    503: (14, reasons.MEMORY_LIMIT),  # UNAVAILABLE
    500: (13, reasons.INTERNAL),  # INTERNAL
}


class _BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "llmledger"
    # set on the subclass made per receiver
    pipeline: Pipeline
    max_body: int
    token: BearerToken | None
    rejections: Rejections
    routes: Mapping[str, Route]
    query_routes: Mapping[str, QueryRoute]
    open_paths: frozenset[str]

    def log_message(self, format: str, *args: Any) -> None:
        _log.debug("%s " + format, self.address_string(), *args)

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0]
        if path != TRACES_PATH:
            signal = PASSED_PATHS.get(path)
            if signal is not None:
                self._post_passed(signal)
                return
            self._drain()
            self._refuse(404, f"no such path {path}; OTLP/HTTP goes to {_EXPORTS}")
            return
        with contextlib.ExitStack() as stack:
            held = self._reserve(stack)
            if held is None:
                return
            read = self._read_export(_TRACES, TraceExport.from_protobuf, _trace_json)
            if read is None:
                return
            media_type, body, export = read
            try:
                held.grow(len(body))
                outcome = self.pipeline.accept(export)
            except Exception as error:
                self._refuse_failure(error, media_type)
                return
        self._success(outcome, media_type)

    def _reserve(self, stack: contextlib.ExitStack) -> Reservation | None:
        """The memory this request may hold while it is handled, reserved in `stack` by its Content-Length (a
        chunked or gzip body's grows once read); None once it has been refused, unread, at the memory limit."""
        length = _length(self.headers.get("Content-Length") or "0") or 0
        try:
            return stack.enter_context(self.pipeline.memory.reserve(min(length, self.max_body)))
        except MemoryPressure as error:
            self._drain()
            self._refuse_failure(error, self.headers.get("Content-Type", "").split(";", 1)[0].strip().lower())
            return None

    def _post_passed(self, signal: PassedSignal) -> None:
        """A metrics or logs export: read, checked and refused as traces are, then passed on."""
        with contextlib.ExitStack() as stack:
            held = self._reserve(stack)
            if held is None:
                return
            read = self._read_export(signal.request_name, signal.request.FromString, signal.parse_json)
            if read is None:
                return
            media_type, body, request = read
            try:
                held.grow(len(body))
                self.pipeline.accept_signal(signal, request, body if media_type == PROTOBUF else None)
            except Exception as error:
                self._refuse_failure(error, media_type)
                return
        if media_type == JSON:  # an empty Export…ServiceResponse: nothing in it is ever rejected
            self._send(200, JSON, b"{}")
        else:
            self._send(200, PROTOBUF, b"")

    def _refuse_failure(self, error: Exception, media_type: str) -> None:
        """Refuse a request the pipeline did not take, with the status its exception calls for."""
        if isinstance(error, Backpressure):
            self._refuse(429, str(error), media_type, retry_after=error.retry_after)
        elif isinstance(error, MemoryPressure):
            self._refuse(503, str(error), media_type, retry_after=error.retry_after)
        elif isinstance(error, RequestTooLarge):
            self._refuse(413, str(error), media_type)
        else:
            _log.error("could not process an OTLP/HTTP request", exc_info=error)
            self._refuse(500, "the collector failed to process the request; see its log", media_type)

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        route, query_route = self.routes.get(path), self.query_routes.get(path)
        if route is None and query_route is None:
            self._drain()
            self._refuse(405 if path in EXPORT_PATHS else 404, f"use {_EXPORTS}")
            return
        if path not in OPEN_PATHS and path not in self.open_paths and not self._authorized():
            self._drain()
            self._refuse(401, "a bearer token is required (Authorization: Bearer TOKEN)")
            return
        try:
            if route is not None:
                status, content_type, body = route()
            else:
                assert query_route is not None
                status, content_type, body = query_route(query)
        except Exception:
            _log.exception("GET %s failed", path)
            status, content_type, body = 500, "text/plain; charset=utf-8", b"internal error; see the collector's log\n"
        self._send(status, content_type, body, {"Cache-Control": "no-store"})  # status pages are live answers

    def do_PUT(self) -> None:
        self._drain()
        path = self.path.split("?", 1)[0]
        known = path in EXPORT_PATHS or path in self.routes or path in self.query_routes
        self._refuse(405 if known else 404, f"use {_EXPORTS}")

    do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_PUT

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # The stdlib answers a method it has no do_* for with 501; that is the client's mistake, not ours.
        if code == 501:
            code, message = 405, f"unsupported method; use {_EXPORTS}"
        if code >= 400:
            self.rejections.count(_PROTOCOL, reasons.MALFORMED if code != 405 else reasons.UNSUPPORTED)
        super().send_error(code, message, explain)

    def _authorized(self) -> bool:
        return self.token is None or self.token.allows(self.headers.get("Authorization"))

    # -- reading -----------------------------------------------------------------------------------------
    def _read_export(
        self, name: str, parse_protobuf: Callable[[bytes], _Request], parse_otlp_json: Callable[[bytes], _Request]
    ) -> tuple[str, bytes, _Request] | None:
        """An export's media type, body and request as `parse_protobuf` or `parse_otlp_json` made it (that is its
        validation), or None once it has been refused: no token, a body too large or unreadable, a Content-Type
        neither protobuf nor JSON, a malformed request (`name`: the message it should have been)."""
        media_type = self.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
        if not self._authorized():
            self._drain()
            self._refuse(401, "a bearer token is required (Authorization: Bearer TOKEN)", media_type)
            return None
        try:
            body = self._body(name)
            if media_type == PROTOBUF:
                try:
                    request = parse_protobuf(body)
                except DecodeError as error:
                    raise _BadRequest(400, f"malformed protobuf {name}: {error}") from None
            elif media_type == JSON:
                try:
                    request = parse_otlp_json(body)
                except InvalidOtlpJson as error:
                    raise _BadRequest(400, str(error)) from None
            else:
                raise _BadRequest(415, f"unsupported Content-Type {media_type or '(none)'!r}; use {PROTOBUF} or {JSON}")
        except _BadRequest as error:
            self._refuse(error.status, str(error), media_type)
            return None
        return media_type, body, request

    def _body(self, expected: str = "ExportTraceServiceRequest") -> bytes:
        limit = self.max_body
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            raw = self._chunked()
        else:
            length_header = self.headers.get("Content-Length")
            if length_header is None:
                self.close_connection = True
                raise _BadRequest(411, "Content-Length is required")
            length = _length(length_header)
            if length is None:
                self.close_connection = True
                raise _BadRequest(400, f"bad Content-Length {length_header!r}")
            if length > limit:
                self.close_connection = True
                raise _BadRequest(413, f"body of {length} bytes exceeds the limit of {limit}")
            raw = self.rfile.read(length) if length > 0 else b""
        encoding = self.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding == "gzip":
            raw = gunzip(raw, limit)
        elif encoding not in ("identity", ""):
            raise _BadRequest(415, f"unsupported Content-Encoding {encoding!r}; use gzip or none")
        if not raw:
            raise _BadRequest(400, f"empty body: expected an {expected}")
        return raw

    def _chunked(self) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(65537)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                size = -1
            if size < 0:
                self.close_connection = True
                raise _BadRequest(400, "malformed chunked body")
            if size == 0:
                while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            total += size
            if total > self.max_body:
                self.close_connection = True
                raise _BadRequest(413, f"body exceeds the limit of {self.max_body} bytes")
            parts.append(self.rfile.read(size))
            self.rfile.readline(3)

    def _drain(self) -> None:
        """Read and discard an unwanted body (a step at a time, up to the size limit), so the client reads our
        answer rather than a reset and the connection can serve the next request; else mark it to be closed."""
        length = _length(self.headers.get("Content-Length") or "0")
        if length is None or length > self.max_body or "Transfer-Encoding" in self.headers:
            self.close_connection = True
            return
        while length > 0:
            step = self.rfile.read(min(length, 1 << 16))
            if not step:
                self.close_connection = True
                return
            length -= len(step)

    # -- answering ---------------------------------------------------------------------------------------
    def _success(self, outcome: Outcome, media_type: str) -> None:
        response = ExportTraceServiceResponse()
        if outcome.rejected_spans:
            response.partial_success.CopyFrom(
                ExportTracePartialSuccess(rejected_spans=outcome.rejected_spans, error_message=outcome.message)
            )
        if media_type == JSON:
            body: dict[str, Any] = {}
            if outcome.rejected_spans:
                body["partialSuccess"] = {
                    "rejectedSpans": str(outcome.rejected_spans),
                    "errorMessage": outcome.message,
                }
            self._send(200, JSON, json.dumps(body).encode())
        else:
            self._send(200, PROTOBUF, response.SerializeToString())

    def _refuse(self, status: int, message: str, media_type: str = "", retry_after: int | None = None) -> None:
        """An error answer in the request's encoding, counted by reason."""
        code, reason = _REFUSALS[status]
        self.rejections.count(_PROTOCOL, reason)
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        if status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        if media_type == JSON:
            self._send(status, JSON, json.dumps({"code": code, "message": message}).encode(), headers)
        elif media_type == PROTOBUF:
            self._send(status, PROTOBUF, Status(code=code, message=message).SerializeToString(), headers)
        else:
            self._send(status, "text/plain; charset=utf-8", (message + "\n").encode(), headers)

    def _send(self, status: int, content_type: str, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if body:  # an empty one (a full success in protobuf) would be a write, and a GIL hand-off, for nothing
            self.wfile.write(body)


def _trace_json(body: bytes) -> TraceExport:
    """An OTLP/JSON traces request as the pipeline takes it (it has no protobuf bytes to forward as they came)."""
    return TraceExport.from_message(parse_json(body))


def _length(header: str) -> int | None:
    """A Content-Length as a non-negative int, or None (a negative one would read until the client closes)."""
    text = header.strip()
    return int(text) if text.isascii() and text.isdigit() else None


def gunzip(raw: bytes, limit: int) -> bytes:
    """Decompress gzip (one or more members) a step at a time, refusing (413) as soon as the output passes
    `limit`: a bomb costs at most `limit` + one step of memory, never its inflated size."""
    out = bytearray()
    while raw:
        decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        pending = raw
        try:
            while pending and not decompressor.eof:
                out += decompressor.decompress(pending, _GUNZIP_STEP)
                if len(out) > limit:
                    raise _BadRequest(413, f"decompressed body exceeds the limit of {limit} bytes")
                pending = decompressor.unconsumed_tail
        except zlib.error as error:
            raise _BadRequest(400, f"body is not valid gzip: {error}") from None
        if not decompressor.eof:
            raise _BadRequest(400, "body is not valid gzip: it ends before the end of the compressed data")
        raw = decompressor.unused_data
    return bytes(out)


class _Server(ThreadingHTTPServer):
    """With TLS, each connection's handshake runs on its own thread: a slow client never stalls `accept`.

    The listen backlog is the system's (`SOMAXCONN`), as Go's servers (the OTel Collector's among them) have it,
    not socketserver's 5: when the accept loop lags behind a burst of new connections (it shares the GIL with
    every request being handled), Linux resets the connections past the backlog, and an exporter sees
    "connection reset" mid-request instead of waiting its turn."""

    allow_reuse_address = True
    request_queue_size = socket.SOMAXCONN
    daemon_threads = True
    tls: ssl.SSLContext | None = None

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = super().get_request()
        if self.tls is not None:
            connection = self.tls.wrap_socket(connection, server_side=True, do_handshake_on_connect=False)
        return connection, address

    def finish_request(self, request: Any, client_address: Any) -> None:
        if isinstance(request, ssl.SSLSocket):
            try:
                request.settimeout(_HANDSHAKE_SECONDS)
                request.do_handshake()
                request.settimeout(None)
            except (OSError, ssl.SSLError) as error:
                _log.debug("TLS handshake with %s failed: %s", client_address, error)
                return
        super().finish_request(request, client_address)


class HttpReceiver:
    def __init__(
        self,
        pipeline: Pipeline,
        host: str = "127.0.0.1",
        port: int = 4318,
        *,
        max_request_bytes: int = MAX_BODY_BYTES,
        token: BearerToken | None = None,
        tls: TlsFiles | None = None,
        rejections: Rejections | None = None,
        routes: Mapping[str, Route] | None = None,
        query_routes: Mapping[str, QueryRoute] | None = None,
        open_paths: frozenset[str] = frozenset(),
        idle_timeout: float = IDLE_TIMEOUT_SECONDS,
    ) -> None:
        self.rejections = rejections or Rejections()
        attributes = {
            "timeout": idle_timeout,  # StreamRequestHandler sets it on the socket: every read waits at most this
            "pipeline": pipeline,
            "max_body": max_request_bytes,
            "token": token,
            "rejections": self.rejections,
            "routes": dict(routes or {}),
            "query_routes": dict(query_routes or {}),
            "open_paths": open_paths,
        }
        handler = type("OtlpHandler", (_Handler,), attributes)
        server_class: type[_Server] = type("OtlpServer", (_Server,), {"tls": tls.server_context() if tls else None})
        if ":" in host:
            server_class.address_family = socket.AF_INET6
        self._server = server_class((host, port), handler)
        self.host = host
        self.port = self._server.server_address[1]
        self.scheme = "https" if tls else "http"
        self._thread = threading.Thread(target=self._server.serve_forever, name="llmledger-http", daemon=True)

    def start(self) -> HttpReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


__all__ = ["EXPORT_PATHS", "OPEN_PATHS", "HttpReceiver", "QueryRoute", "Route", "gunzip"]
