# SPDX-License-Identifier: Apache-2.0
"""kill -9 during sustained load, then a restart on the same queue: every acknowledged span is stored exactly
once, at its cost, and the rollups agree to the cent."""

from __future__ import annotations

from .accounting import assert_exactly_once, missing, wait_stored
from .load import LoadGenerator
from .processes import collector, kill


def test_every_span_acknowledged_before_a_kill_9_is_stored_exactly_once_after_the_restart(server, database, tmp_path):
    queue = tmp_path / "queue"
    first = collector(server, database, queue, "--flush-interval", "1")
    with LoadGenerator(first.http_port) as load:
        load.wait_acknowledged(100)  # sustained: the writer is busy inserting while requests keep coming
        kill(first)
        ledger = load.stop()
    acknowledged = ledger.snapshot()
    backlog = missing(server, database, acknowledged)
    assert backlog, "every acknowledged span was already stored: the kill tested nothing"
    print(f"{len(acknowledged)} acknowledged, {backlog} not yet stored at the kill, failures {ledger.failures}")

    second = collector(server, database, queue)
    try:
        assert wait_stored(server, database, acknowledged) == 0
    finally:
        assert second.stop() == 0, second.text
    assert_exactly_once(server, database, acknowledged)
