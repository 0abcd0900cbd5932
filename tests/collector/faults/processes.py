# SPDX-License-Identifier: Apache-2.0
"""Process control for fault injection: a ClickHouse server to stop and start, and the collector under test.

The collector is the real `llmledger collector` subprocess (tests/collector/running.py), pointed at the server
by URL, so killing either never takes the other down with it.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from llmledger.collector.exporters.clickhouse.client import connect
from llmledger.collector.exporters.clickhouse.embedded import EmbeddedClickHouse
from tests.collector.running import Collector, start_collector


class RestartableClickHouse:
    """The embedded server of one data directory, stopped and started again on the same ports."""

    def __init__(self, data_dir: Path) -> None:
        self._server = EmbeddedClickHouse(data_dir).start()
        self.http_port = self._server.http_port
        self.tcp_port = self._server.tcp_port
        self.url = self._server.url

    @property
    def running(self) -> bool:
        return self._server.running

    def stop(self) -> None:
        self._server.stop()

    def crash(self) -> None:
        """SIGKILL the engine: no flush of anything it holds in memory, as in a power cut of the process."""
        pid = self._server.pid
        if pid is not None and self._server.running:
            os.kill(pid, signal.SIGKILL)
        self._server.stop()  # reaps it and removes its state file

    def start(self) -> None:
        if not self._server.running:
            data_dir = self._server.data_dir
            self._server = EmbeddedClickHouse(data_dir, http_port=self.http_port, tcp_port=self.tcp_port).start()

    def query(self, sql: str, parameters: dict | None = None) -> list[tuple]:
        """Rows of `sql` on a fresh connection (a server restart leaves pooled connections stale)."""
        client = connect(self.url)
        try:
            return client.query(sql, parameters or {}).result_rows
        finally:
            client.close()


_started: list[Collector] = []


def collector(server: RestartableClickHouse, database: str, queue_dir: Path, *args: str) -> Collector:
    """`llmledger collector` storing into `database` of `server`, its durable queue in `queue_dir`."""
    running = start_collector(
        [
            *("--clickhouse-url", server.url, "--database", database),
            *("--data-dir", str(queue_dir.parent), "--queue-dir", str(queue_dir)),
            *("--flush-interval", "0.2", "--batch-size", "500"),
            *args,
        ]
    )
    _started.append(running)
    return running


def kill(running: Collector) -> None:
    """SIGKILL: no flush, no commit, no goodbye."""
    running.process.kill()
    running.process.wait(30)


def reap() -> None:
    """Kill every collector a test started and left running (it failed before stopping it)."""
    while _started:
        running = _started.pop()
        if running.process.poll() is None:
            kill(running)
