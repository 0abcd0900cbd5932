# SPDX-License-Identifier: Apache-2.0
"""ClickHouse stopped (SIGTERM) or crashed (SIGKILL) mid-load and started again: the collector keeps
acknowledging while it is down (the queue absorbs the backlog), then catches up; nothing acknowledged is lost or
counted twice."""

from __future__ import annotations

import pytest

from .accounting import assert_exactly_once, wait_stored
from .load import LoadGenerator
from .processes import collector


@pytest.mark.parametrize("fault", ["stop", "crash"])
def test_requests_are_acknowledged_while_clickhouse_is_down_and_stored_once_it_is_back(
    server, database, tmp_path, fault
):
    running = collector(server, database, tmp_path / "queue")
    try:
        with LoadGenerator(running) as load:
            load.wait_acknowledged(30)
            getattr(server, fault)()  # SIGTERM, or SIGKILL in the middle of whatever insert is running
            before = load.ledger.snapshot()
            load.wait_acknowledged(50)  # acknowledged with ClickHouse down: on disk only
            during = load.ledger.snapshot().keys() - before.keys()
            server.start()
            load.wait_acknowledged(30)
            ledger = load.stop()
        acknowledged = ledger.snapshot()
        assert len(during) >= 50 * load.spans_per_request
        # Catch-up: spans acknowledged while ClickHouse was down can only have been stored after it came back.
        caught_up = wait_stored(server, database, {span: acknowledged[span] for span in during})
        assert caught_up == 0, f"{caught_up} spans of the outage not stored; collector said:\n{running.text[-3000:]}"
        assert wait_stored(server, database, acknowledged) == 0
    finally:
        assert running.stop() == 0, running.text
    assert_exactly_once(server, database, acknowledged)
