# SPDX-License-Identifier: Apache-2.0
"""kill -9 during sustained load, again and again on the same queue (each restart replaying what the last run
left while new load arrives): every acknowledged span is stored exactly once, at its cost, and the rollups
agree to the cent."""

from __future__ import annotations

from decimal import Decimal

import pytest

from .accounting import assert_exactly_once, missing, wait_stored
from .load import LoadGenerator
from .processes import collector, kill

KILLS = 3


@pytest.mark.parametrize("transport", ["http", "grpc"])
def test_every_span_acknowledged_before_each_kill_9_is_stored_exactly_once_after_restarts(
    server, database, tmp_path, transport
):
    queue = tmp_path / "queue"
    acknowledged: dict[str, Decimal] = {}
    backlogs = []
    for _ in range(KILLS):
        # A 1 s flush interval keeps acknowledged spans waiting in the queue when the kill comes.
        running = collector(server, database, queue, "--flush-interval", "1")
        with LoadGenerator(running, transport=transport) as load:
            load.wait_acknowledged(60)  # sustained: the writer is busy inserting while requests keep coming
            kill(running)
            acknowledged |= load.stop().snapshot()
        backlogs.append(missing(server, database, acknowledged))
    assert any(backlogs), "every acknowledged span was already stored at each kill: the kills tested nothing"

    last = collector(server, database, queue)
    try:
        assert wait_stored(server, database, acknowledged) == 0
    finally:
        assert last.stop() == 0, last.text
    assert_exactly_once(server, database, acknowledged)
