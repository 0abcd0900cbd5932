# SPDX-License-Identifier: Apache-2.0
"""OTLP/HTTP receiver: `POST /v1/traces`, protobuf or JSON, identity or gzip.

The stdlib `ThreadingHTTPServer` with HTTP/1.1 keep-alive: the SDK exporters reuse one connection, the work per
request is protobuf parsing and extraction (not HTTP), and it needs no dependency. Answers follow the OTLP/HTTP
spec: the response in the request's encoding (partial success when spans were rejected), 400 with a
`google.rpc.Status` for bad payloads, 404/405/411/413/415 for the wrong path, method, length, size or type,
and 429 with Retry-After when the pipeline is full.
"""

from __future__ import annotations

import json
import logging
import threading
import zlib
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from google.protobuf.message import DecodeError
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from ..otlp.jsonformat import InvalidOtlpJson
from ..otlp.jsonformat import parse as parse_json
from ..pipeline import Backpressure, Outcome, Pipeline

_log = logging.getLogger(__name__)
TRACES_PATH = "/v1/traces"
MAX_BODY_BYTES = 64 * 1024 * 1024
PROTOBUF = "application/x-protobuf"
JSON = "application/json"
_INVALID_ARGUMENT = 3


class _BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


# A GET route: () -> (HTTP status, content type, body). Minimal registry for GET /v1/budgets/status; the `edges`
# branch brings the full one with the same signature, which replaces this at merge.
Route = Callable[[], tuple[int, str, bytes]]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "llmledger"
    pipeline: Pipeline  # set on the subclass made per receiver
    routes: Mapping[str, Route] = {}  # GET routes, set on the subclass made per receiver

    def log_message(self, format: str, *args: Any) -> None:
        _log.debug("%s " + format, self.address_string(), *args)

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0]
        if path != TRACES_PATH:
            self._drain()
            self._plain(404, f"no such path {path}; OTLP/HTTP traces go to POST {TRACES_PATH}")
            return
        media_type = self.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
        try:
            body = self._body()
            if media_type == PROTOBUF:
                request = _parse_protobuf(body)
            elif media_type == JSON:
                request = _parse_json(body)
            else:
                raise _BadRequest(415, f"unsupported Content-Type {media_type or '(none)'!r}; use {PROTOBUF} or {JSON}")
        except _BadRequest as error:
            self._error(error.status, str(error), media_type)
            return
        try:
            outcome = self.pipeline.accept(request, body if media_type == PROTOBUF else None)
        except Backpressure as error:
            self._error(429, str(error), media_type, retry_after=error.retry_after)
            return
        except Exception:
            _log.exception("could not process an OTLP/HTTP request")
            self._error(500, "the collector failed to process the request; see its log", media_type)
            return
        self._success(outcome, media_type)

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        route = self.routes.get(path)
        if route is None:
            self._plain(405 if path == TRACES_PATH else 404, f"use POST {TRACES_PATH}")
            return
        try:
            status, content_type, body = route()
        except Exception:
            _log.exception("GET %s failed", path)
            status, content_type, body = 500, "text/plain; charset=utf-8", b"internal error; see the collector log\n"
        self._send(status, content_type, body, {"Cache-Control": "no-store"})

    def _not_allowed(self) -> None:
        self._plain(405 if self.path.split("?", 1)[0] == TRACES_PATH else 404, f"use POST {TRACES_PATH}")

    do_PUT = do_DELETE = do_PATCH = _not_allowed

    # -- reading -----------------------------------------------------------------------------------------
    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            raw = self._chunked()
        else:
            length_header = self.headers.get("Content-Length")
            if length_header is None:
                self.close_connection = True
                raise _BadRequest(411, "Content-Length is required")
            try:
                length = int(length_header)
            except ValueError:
                self.close_connection = True
                raise _BadRequest(400, f"bad Content-Length {length_header!r}") from None
            if length > MAX_BODY_BYTES:
                self.close_connection = True
                raise _BadRequest(413, f"body of {length} bytes exceeds the limit of {MAX_BODY_BYTES}")
            raw = self.rfile.read(length) if length > 0 else b""
        encoding = self.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding == "gzip":
            try:
                raw = _gunzip(raw)
            except (OSError, EOFError, zlib.error) as error:
                raise _BadRequest(400, f"body is not valid gzip: {error}") from None
        elif encoding not in ("identity", ""):
            raise _BadRequest(415, f"unsupported Content-Encoding {encoding!r}; use gzip or none")
        if not raw:
            raise _BadRequest(400, "empty body: expected an ExportTraceServiceRequest")
        return raw

    def _chunked(self) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(65537)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                self.close_connection = True
                raise _BadRequest(400, "malformed chunked body") from None
            if size == 0:
                while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            total += size
            if total > MAX_BODY_BYTES:
                self.close_connection = True
                raise _BadRequest(413, f"body exceeds the limit of {MAX_BODY_BYTES} bytes")
            parts.append(self.rfile.read(size))
            self.rfile.readline(3)

    def _drain(self) -> None:
        length = self.headers.get("Content-Length")
        if length and length.isdigit() and int(length) <= MAX_BODY_BYTES:
            self.rfile.read(int(length))
        else:
            self.close_connection = True

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

    def _error(self, status: int, message: str, media_type: str, retry_after: int | None = None) -> None:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        if media_type == JSON:
            self._send(status, JSON, json.dumps({"code": _INVALID_ARGUMENT, "message": message}).encode(), headers)
        elif media_type == PROTOBUF:
            self._send(status, PROTOBUF, Status(code=_INVALID_ARGUMENT, message=message).SerializeToString(), headers)
        else:
            self._plain(status, message)

    def _plain(self, status: int, message: str) -> None:
        self._send(status, "text/plain; charset=utf-8", (message + "\n").encode())

    def _send(self, status: int, content_type: str, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)


def _gunzip(raw: bytes) -> bytes:
    decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    out = decompressor.decompress(raw, MAX_BODY_BYTES + 1)
    if len(out) > MAX_BODY_BYTES or decompressor.unconsumed_tail:
        raise _BadRequest(413, f"decompressed body exceeds the limit of {MAX_BODY_BYTES} bytes")
    if not decompressor.eof:
        raise EOFError("compressed body ended early")
    return out


def _parse_protobuf(body: bytes) -> ExportTraceServiceRequest:
    try:
        return ExportTraceServiceRequest.FromString(body)
    except DecodeError as error:
        raise _BadRequest(400, f"malformed protobuf ExportTraceServiceRequest: {error}") from None


def _parse_json(body: bytes) -> ExportTraceServiceRequest:
    try:
        return parse_json(body)
    except InvalidOtlpJson as error:
        raise _BadRequest(400, str(error)) from None


class HttpReceiver:
    def __init__(
        self,
        pipeline: Pipeline,
        host: str = "127.0.0.1",
        port: int = 4318,
        *,
        routes: Mapping[str, Route] | None = None,
    ) -> None:
        handler = type("OtlpHandler", (_Handler,), {"pipeline": pipeline, "routes": dict(routes or {})})
        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self.host = host
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="llmledger-http", daemon=True)

    def start(self) -> HttpReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


__all__ = ["HttpReceiver"]
