# SPDX-License-Identifier: Apache-2.0
"""A TCP proxy in front of ClickHouse's HTTP port that interferes with inserts, and only with inserts.

Two faults, each for the next N inserts (inserts to hold come first, then inserts to fail):

* `hold(n)`: the insert goes through at once, so ClickHouse commits it; only its response is delayed, past the
  collector's insert timeout (the proxy notes it was a 200). The collector sees a failed insert that in fact
  succeeded — the case deduplication tokens exist for. Identical retried blocks would be dropped by
  ClickHouse's block hash alone; the token is what keeps a batch re-formed after a restart from counting twice.
* `fail(errors)`: the insert never reaches ClickHouse; the proxy answers with the given error, as an overloaded
  server (ClickHouse's own error format and code) or a gateway would.

The proxy notes each insert's `insert_deduplication_token` (clickhouse-connect sends settings in the URL), so a
test can see that a retry carried the same token.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import urllib.parse
from collections import Counter, deque
from collections.abc import Callable
from typing import NamedTuple

# clickhouse-connect sends an insert's rows in Native format as a binary body; queries are text.
_INSERT = re.compile(rb"^POST .*\r\ncontent-type: application/octet-stream\r\n", re.IGNORECASE | re.DOTALL)
_TOKEN = re.compile(rb"[?&]insert_deduplication_token=([^&\s]+)")
_STATUS = re.compile(rb"HTTP/1\.[01] (\d{3}) ")
_LAST_CHUNK = b"0\r\n\r\n"  # end of a chunked body
_CHUNK = 1 << 16


class Error(NamedTuple):
    """An answer to an insert: HTTP status, ClickHouse error code (None: not from ClickHouse) and message."""

    status: int
    code: int | None
    message: str

    def response(self) -> bytes:
        if self.code is None:
            body = self.message.encode()
            header = b""
        else:
            body = f"Code: {self.code}. DB::Exception: {self.message}. (version 26.9.2.1)\n".encode()
            header = f"X-ClickHouse-Exception-Code: {self.code}\r\n".encode()
        return (
            f"HTTP/1.1 {self.status} Error\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n".encode()
            + header
            + b"Connection: close\r\n\r\n"
            + body
        )


class InsertProxy:
    """Listens on a free loopback port and forwards everything to `target_port`, but for the inserts it was
    told to hold back (`delay` seconds) or fail."""

    def __init__(self, target_port: int, *, delay: float = 0.0) -> None:
        self.target_port = target_port
        self.delay = delay
        self.tokens: Counter[str] = Counter()  # insert_deduplication_token ("" for none) → inserts seen with it
        self.held: list[int] = []  # HTTP status of each response held back: 200 means ClickHouse took the insert
        self.failed = 0  # inserts answered with an error instead of reaching ClickHouse
        self._hold_left = 0
        self._errors: deque[Error] = deque()
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def hold(self, inserts: int) -> None:
        with self._lock:
            self._hold_left = inserts

    def fail(self, errors: list[Error]) -> None:
        with self._lock:
            self._errors.extend(errors)

    def clear(self) -> None:
        """Interfere no more: inserts still to be held or failed go through."""
        with self._lock:
            self._hold_left = 0
            self._errors.clear()

    def close(self) -> None:
        self._closed.set()
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                _close(sock)

    def __enter__(self) -> InsertProxy:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=10)
            except OSError:
                _close(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets += [client, upstream]
            hold = threading.Event()  # set: the next response on this connection is to be held back
            threading.Thread(target=self._requests, args=(client, upstream, hold), daemon=True).start()
            threading.Thread(target=self._responses, args=(upstream, client, hold), daemon=True).start()

    def _requests(self, source: socket.socket, target: socket.socket, hold: threading.Event) -> None:
        """Client → ClickHouse, unchanged, unless an insert is to fail; a request's first chunk (line and
        headers) tells an insert."""

        def forward(data: bytes) -> bytes | None:
            error = self._inspect(data, hold)
            if error is None:
                return data
            while not data.endswith(_LAST_CHUNK) and (more := source.recv(_CHUNK)):
                data = more  # the rest of the body, dropped
            source.sendall(error.response())
            return None

        _relay(source, target, forward)

    def _inspect(self, data: bytes, hold: threading.Event) -> Error | None:
        """Note an insert's token and decide its fate: the error to answer with, or None (held or not)."""
        head = data.split(b"\r\n\r\n", 1)[0] + b"\r\n"
        if not _INSERT.match(head):
            return None
        found = _TOKEN.search(head.split(b"\r\n", 1)[0])
        token = urllib.parse.unquote(found.group(1).decode()) if found else ""
        with self._lock:
            self.tokens[token] += 1
            if self._hold_left:
                self._hold_left -= 1
                hold.set()
            elif self._errors:
                self.failed += 1
                return self._errors.popleft()
        return None

    def _responses(self, source: socket.socket, target: socket.socket, hold: threading.Event) -> None:
        """ClickHouse → client; a held response goes out `delay` seconds after ClickHouse sent it (by then the
        client has given up and closed, which is the point)."""

        def forward(data: bytes) -> bytes | None:
            if hold.is_set():
                hold.clear()
                status = _STATUS.match(data)
                with self._lock:
                    self.held.append(int(status.group(1)) if status else 0)
                if self._closed.wait(self.delay):
                    return None
            return data

        _relay(source, target, forward)


def _relay(source: socket.socket, target: socket.socket, forward: Callable[[bytes], bytes | None]) -> None:
    """Copy `source` to `target` through `forward` (None: stop) until either side closes; then close both."""
    try:
        while data := source.recv(_CHUNK):
            sent = forward(data)
            if sent is None:
                break
            target.sendall(sent)
    except OSError:
        pass
    _close(source)
    _close(target)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
