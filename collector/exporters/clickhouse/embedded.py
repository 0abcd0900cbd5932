# SPDX-License-Identifier: Apache-2.0
"""The embedded ClickHouse: chdb-core's engine in a child process, serving HTTP and TCP on loopback.

A child process (not chdb in-process) because chdb-core allows one engine per process and one process per data
directory, and because clickhouse-connect, clickhouse-client, Grafana and the tests must all be able to query
the same data while the collector writes it. Usage::

    with EmbeddedClickHouse(data_dir) as server:      # free loopback ports unless given
        client = connect(server.url)

`data_dir` is llmledger's data directory: ClickHouse keeps its files in `data_dir/clickhouse/`, its config and
log in `data_dir/clickhouse-run/`, and while it runs `data_dir/clickhouse-server.json` says where it listens,
so other commands (`llmledger sql`, `llmledger report`) find it with `running_url(data_dir)`. User `default`
has no password, which is why it only ever listens on loopback.

`config_extra` adds elements to the engine's config.xml: `remote_servers(name, tcp_ports)` makes engines that
share it the shards of one cluster (how the tests and benchmarks form a two-shard cluster on one machine).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Self

from .errors import ClickHouseError, ServerStartFailed
from .http_query import HttpQuery

STATE_FILE = "clickhouse-server.json"
_ENGINE_DIR = "clickhouse"
_LOOPBACK = "127.0.0.1"
_LOG_TAIL = 4000


class EmbeddedClickHouse:
    """One chdb-core ClickHouse server process bound to one data directory.

    `stop_with_parent` (Linux): the server is SIGTERMed by the kernel when the *thread* that started it ends,
    so a crashed or killed caller leaves no server behind. Start it from a thread that lives as long as the
    server should (the main thread), or pass False and call `stop()` yourself.
    """

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        http_port: int = 0,
        tcp_port: int = 0,
        *,
        start_timeout: float = 60.0,
        stop_timeout: float = 15.0,
        stop_with_parent: bool = True,
        config_extra: str = "",
    ) -> None:
        self.data_dir = Path(data_dir).expanduser().resolve()
        self._requested = (http_port, tcp_port)
        self.http_port = http_port
        self.tcp_port = tcp_port
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.stop_with_parent = stop_with_parent
        self.config_extra = config_extra
        self._process: subprocess.Popen[bytes] | None = None

    # -- where things live -------------------------------------------------------------------------------
    @property
    def clickhouse_path(self) -> Path:
        return self.data_dir / _ENGINE_DIR

    @property
    def run_dir(self) -> Path:
        return self.data_dir / "clickhouse-run"

    @property
    def log_path(self) -> Path:
        return self.run_dir / "server.log"

    @property
    def url(self) -> str:
        return f"http://{_LOOPBACK}:{self.http_port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    # -- lifecycle ---------------------------------------------------------------------------------------
    def start(self) -> Self:
        """Start the server and return once it answers SQL over HTTP; raise ServerStartFailed if it does not."""
        if self.running:
            return self
        other = running_url(self.data_dir)
        if other is not None:
            raise ServerStartFailed(f"a ClickHouse server for {self.data_dir} is already running at {other}")
        self.clickhouse_path.mkdir(parents=True, exist_ok=True)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        # Ports we picked ourselves can be taken by someone else before the child binds them: try again.
        attempts = 1 if all(self._requested) else 3
        for attempt in range(attempts):
            self.http_port = self._requested[0] or free_port()
            self.tcp_port = self._requested[1] or free_port(exclude=self.http_port)
            try:
                self._launch()
                break
            except ServerStartFailed as error:
                if attempt + 1 == attempts or "Address already in use" not in str(error):
                    raise
        self._write_state()
        return self

    def stop(self) -> None:
        """SIGTERM the server and wait for it (data stays on disk); SIGKILL it if it does not exit in time."""
        process, self._process = self._process, None
        if process is None:
            return
        try:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(self.stop_timeout)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        finally:
            self._remove_state(process.pid)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    def wait(self) -> int:
        """Block until the server process exits on its own; its exit code."""
        if self._process is None:
            return 0
        return self._process.wait()

    # -- internals ---------------------------------------------------------------------------------------
    def _launch(self) -> None:
        command = [
            sys.executable,
            "-m",
            "llmledger.collector.exporters.clickhouse._server",
            "--data",
            str(self.clickhouse_path),
            "--run-dir",
            str(self.run_dir),
            "--listen-host",
            _LOOPBACK,
            "--http-port",
            str(self.http_port),
            "--tcp-port",
            str(self.tcp_port),
        ]
        if self.stop_with_parent:
            command += ["--parent-pid", str(os.getpid())]
        if self.config_extra:
            extra = self.run_dir / "config-extra.xml"
            extra.write_text(self.config_extra, encoding="utf-8")
            command += ["--config-extra", str(extra)]
        # Output goes to a file, not a pipe: nobody drains a pipe while the server runs, and a full pipe
        # would stall the engine. New session: a Ctrl-C meant for the caller does not reach the engine.
        with open(self.log_path, "wb") as log:
            self._process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + self.start_timeout
        while True:
            if self._process.poll() is not None:
                code = self._process.returncode
                self._process = None
                raise ServerStartFailed(f"ClickHouse exited during start-up (exit code {code}).\n{self._log_tail()}")
            if _answers(self.url, self.clickhouse_path):
                return
            if time.monotonic() > deadline:
                self.stop()
                raise ServerStartFailed(
                    f"ClickHouse did not answer at {self.url} within {self.start_timeout:.0f} s.\n{self._log_tail()}"
                )
            time.sleep(0.05)

    def _log_tail(self) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no server log)"
        return f"Server log {self.log_path}:\n{text[-_LOG_TAIL:]}" if text.strip() else "(server log is empty)"

    def _write_state(self) -> None:
        state = {"url": self.url, "pid": self.pid, "http_port": self.http_port, "tcp_port": self.tcp_port}
        path = self.data_dir / STATE_FILE
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(state))
        temporary.replace(path)

    def _remove_state(self, pid: int) -> None:
        path = self.data_dir / STATE_FILE
        with contextlib.suppress(OSError, ValueError):
            if json.loads(path.read_text()).get("pid") == pid:
                path.unlink()


def running_url(data_dir: str | os.PathLike[str]) -> str | None:
    """URL of the embedded server serving `data_dir`, if one is running and answering; None otherwise."""
    data_dir = Path(data_dir).expanduser()
    path = data_dir / STATE_FILE
    try:
        state = json.loads(path.read_text())
        pid, url = int(state["pid"]), str(state["url"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, someone else's
    return url if _answers(url, data_dir / _ENGINE_DIR) else None


def remote_servers(name: str, tcp_ports: list[int], host: str = _LOOPBACK) -> str:
    """A `<remote_servers>` element naming cluster `name`: one shard (of one replica) per TCP port, in order."""
    from xml.sax.saxutils import escape  # here, not at the top: it imports urllib.request, which `running_url` skips

    shards = "".join(
        f"<shard><replica><host>{escape(host)}</host><port>{port}</port></replica></shard>" for port in tcp_ports
    )
    return f"  <remote_servers><{name}>{shards}</{name}></remote_servers>\n"


def free_port(exclude: int | None = None) -> int:
    """A TCP port on loopback that nobody listens on right now."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind((_LOOPBACK, 0))
            port = int(probe.getsockname()[1])
        if port != exclude:
            return port


def _answers(url: str, clickhouse_path: Path) -> bool:
    """Whether the server at `url` answers SQL and is the one keeping its data in `clickhouse_path`.

    Checking the path matters: another server on the same port would otherwise pass for ours.
    """
    try:
        served = HttpQuery(url, connect_timeout=2, timeout=2).raw("SELECT getServerSetting('path')").decode().strip()
    except (ClickHouseError, UnicodeDecodeError):
        return False
    return bool(served) and Path(served).resolve() == clickhouse_path.resolve()
