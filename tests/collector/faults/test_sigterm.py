# SPDX-License-Identifier: Apache-2.0
"""SIGTERM under load: the collector stops accepting, writes everything it acknowledged, and exits 0 — while
the senders keep sending, as exporters on keep-alive HTTP connections and gRPC channels do."""

from __future__ import annotations

import signal
import subprocess

import pytest

from .accounting import assert_exactly_once, missing
from .load import LoadGenerator
from .processes import collector, kill

EXIT_TIMEOUT = 30  # seconds a shutdown may take on a slow machine


@pytest.mark.parametrize("transport", ["http", "grpc"])
def test_sigterm_under_load_exits_0_with_every_acknowledged_span_stored(server, database, tmp_path, transport):
    # A long flush interval keeps a backlog of acknowledged but unwritten spans: the shutdown must write it.
    running = collector(server, database, tmp_path / "queue", "--flush-interval", "2")
    with LoadGenerator(running, transport=transport) as load:
        load.wait_acknowledged(100)
        running.process.send_signal(signal.SIGTERM)
        at_signal = load.ledger.acknowledged_requests
        try:
            code = running.process.wait(EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            after = load.ledger.acknowledged_requests - at_signal
            kill(running)
            raise AssertionError(
                f"still running {EXIT_TIMEOUT} s after SIGTERM, having acknowledged {after} more requests"
            ) from None
        acknowledged = load.stop().snapshot()
    assert code == 0, running.text
    assert missing(server, database, acknowledged) == 0  # no waiting: nothing is left to write them
    assert_exactly_once(server, database, acknowledged)
