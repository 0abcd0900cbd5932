# SPDX-License-Identifier: Apache-2.0
"""The real peers, Jaeger and the OpenTelemetry Collector, as the tests run them.

`scripts/build-peers` builds them into `.cache/peers/` (scripts/test runs it first). `peer_binary()` finds one, or
skips the test saying how to get it: without Go, how to install Go; with Go, to run the script (a failure under
CI, where scripts/test has run it). `start_peer()` runs one with a committed configuration of docs/deployments/ on
free loopback ports, handed to the configuration through its environment variables, and `Peer.listening()` is
what the process really listens on, read from /proc. `OtlpCapture` records what an app exports, so the same
requests can be sent down two paths and the results compared row for row.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
PEERS = ROOT / ".cache" / "peers"
DEPLOYMENTS = ROOT / "docs" / "deployments"


def peer_binary(name: str) -> Path:
    """`.cache/peers/<name>`, or a skip (a failure under CI) that says how to get it."""
    path = PEERS / name
    if path.is_file() and os.access(path, os.X_OK):
        return path
    if shutil.which("go") is None:
        pytest.skip(
            f"needs the real {name}, which bash scripts/build-peers builds from its Go module, and this machine has "
            "no Go toolchain: install Go >= 1.24 (https://go.dev/dl/ or the system's package manager, e.g. "
            "apt-get install golang-go where it is new enough), then run bash scripts/build-peers"
        )
    message = f"{path.relative_to(ROOT)} is not built: run bash scripts/build-peers (scripts/test does)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def free_ports(count: int) -> list[int]:
    """`count` distinct ports free on 127.0.0.1 right now."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@dataclass
class Peer:
    process: subprocess.Popen[bytes]
    log: Path
    ports: dict[str, int]

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def listening(self) -> set[tuple[str, int]]:
        """(address, port) of every TCP socket this process listens on."""
        inodes = set()
        for fd in Path(f"/proc/{self.process.pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
        found = set()
        for table, width in (("tcp", 8), ("tcp6", 32)):
            lines = Path(f"/proc/{self.process.pid}/net/{table}").read_text().splitlines()[1:]
            for line in lines:
                fields = line.split()
                local, state, inode = fields[1], fields[3], fields[9]
                if state == "0A" and inode in inodes:  # LISTEN
                    address, port = local.split(":")
                    found.add((_address(address, width), int(port, 16)))
        return found

    def stop(self, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        return self.process.returncode


def _address(hexadecimal: str, width: int) -> str:
    raw = bytes.fromhex(hexadecimal)
    if width == 8:
        return socket.inet_ntop(socket.AF_INET, raw[::-1])
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))  # /proc prints each 32-bit word host-endian
    return socket.inet_ntop(socket.AF_INET6, words)


def start_peer(
    binary: Path, config: Path, ports: Mapping[str, int], log: Path, env: Mapping[str, str] | None = None
) -> Peer:
    """Run `binary --config config` with `ports` (and `env`) in its environment; return once it listens on every
    one of `ports`."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("OTEL_", "LLMLEDGER_"))}
    environment.update({name: str(port) for name, port in ports.items()})
    environment.update(env or {})
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(binary), "--config", str(config)], stdout=output, stderr=subprocess.STDOUT, env=environment
        )
    peer = Peer(process, log, dict(ports))
    deadline = time.monotonic() + 60
    waiting = set(ports.values())
    while waiting:
        if process.poll() is not None or time.monotonic() > deadline:
            peer.stop(5)
            raise AssertionError(f"{binary.name} did not start listening on {sorted(waiting)}:\n{peer.output}")
        waiting = {port for port in waiting if not _accepts(port)}
        time.sleep(0.1)
    return peer


def _accepts(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def get_json(url: str, timeout: float = 10) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.load(response)


def post_otlp(url: str, body: bytes, timeout: float = 10) -> None:
    """POST one OTLP/HTTP protobuf request; raises on anything but 200."""
    request = urllib.request.Request(url, body, {"Content-Type": "application/x-protobuf"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        assert response.status == 200, response.status


@dataclass
class OtlpCapture:
    """A loopback OTLP/HTTP traces receiver that only keeps the protobuf bodies it is sent, in order."""

    bodies: list[bytes] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def endpoint(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> OtlpCapture:
        bodies = self.bodies
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                with lock:
                    bodies.append(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()


def rows(client: Any, sql: str, parameters: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in client.query(sql, parameters=dict(parameters or {})).result_rows]


def wait_until(probe: Any, timeout: float = 60, interval: float = 0.25) -> Any:
    """Call `probe()` until it returns something truthy (bounded in time); the last value."""
    deadline = time.monotonic() + timeout
    value = probe()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = probe()
    return value


def spans_of(document: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every span of an OTLP/JSON document (Jaeger's /api/v3 `result`), with its resource's attributes."""
    for resource_spans in document.get("resourceSpans", []):
        for scope_spans in resource_spans.get("scopeSpans", []):
            yield from scope_spans.get("spans", [])
