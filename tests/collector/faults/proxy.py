# SPDX-License-Identifier: Apache-2.0
"""A TCP proxy in front of ClickHouse's HTTP port that holds back the answers to inserts.

The insert itself goes through at once, so ClickHouse commits it; only its response is delayed, past the
collector's insert timeout (the proxy notes it was a 200). The collector then sees a failed insert that in fact
succeeded — the case deduplication tokens exist for. The proxy also notes each insert's
`insert_deduplication_token` (clickhouse-connect sends settings in the URL), so a test can see that the retry
carried the same token. Identical retried blocks would be dropped by ClickHouse's block hash alone; the token is
what keeps a batch re-formed after a restart from counting twice.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import urllib.parse
from collections import Counter

# clickhouse-connect sends an insert's rows in Native format as a binary body; queries are text.
_INSERT = re.compile(rb"^POST .*\r\ncontent-type: application/octet-stream\r\n", re.IGNORECASE | re.DOTALL)
_TOKEN = re.compile(rb"[?&]insert_deduplication_token=([^&\s]+)")
_STATUS = re.compile(rb"HTTP/1\.[01] (\d{3}) ")
_CHUNK = 1 << 16


class SlowInsertProxy:
    """Listens on a free loopback port; forwards to `target_port`; the first `slow_inserts` insert responses
    (once `arm()`ed) are held back `delay` seconds."""

    def __init__(self, target_port: int, *, delay: float) -> None:
        self.target_port = target_port
        self.delay = delay
        self.tokens: Counter[str] = Counter()  # insert_deduplication_token ("" for none) → inserts seen with it
        self.held: list[int] = []  # HTTP status of each response held back: 200 means ClickHouse took the insert
        self._slow_left = 0
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def arm(self, slow_inserts: int) -> None:
        with self._lock:
            self._slow_left = slow_inserts

    def close(self) -> None:
        self._closed.set()
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                _close(sock)

    def __enter__(self) -> SlowInsertProxy:
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
        """Client → ClickHouse, unchanged; a request's first chunk (line and headers) tells an insert."""
        try:
            while data := source.recv(_CHUNK):
                head = data.split(b"\r\n\r\n", 1)[0] + b"\r\n"
                if _INSERT.match(head):
                    found = _TOKEN.search(head.split(b"\r\n", 1)[0])
                    token = urllib.parse.unquote(found.group(1).decode()) if found else ""
                    with self._lock:
                        self.tokens[token] += 1
                        if self._slow_left:
                            self._slow_left -= 1
                            hold.set()
                target.sendall(data)
        except OSError:
            pass
        _close(source)
        _close(target)

    def _responses(self, source: socket.socket, target: socket.socket, hold: threading.Event) -> None:
        """ClickHouse → client; a held response goes out `delay` seconds after ClickHouse sent it (by then the
        client has given up and closed, which is the point)."""
        try:
            while data := source.recv(_CHUNK):
                if hold.is_set():
                    hold.clear()
                    status = _STATUS.match(data)
                    with self._lock:
                        self.held.append(int(status.group(1)) if status else 0)
                    if self._closed.wait(self.delay):
                        break
                target.sendall(data)
        except OSError:
            pass
        _close(source)
        _close(target)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
