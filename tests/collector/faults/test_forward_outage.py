# SPDX-License-Identifier: Apache-2.0
"""The forward target down, then up: storage goes on regardless, and forwarding catches up with every span."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import pytest

from llmledger.collector.exporters.clickhouse.embedded import free_port
from tests.collector.running import wait_for

from .accounting import assert_exactly_once, wait_stored
from .load import LoadGenerator, llm_request
from .processes import collector
from .receiver import OtlpReceiver

QUEUE_MAX_BYTES = 2 << 20  # two of the queue's smallest segments (1 MiB)


class LateTarget:
    """A forward target that is down (nothing listens on its port) until `start()`."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.receiver: OtlpReceiver | None = None

    def start(self) -> None:
        self.receiver = OtlpReceiver(self.port)

    def missing(self, spans: Iterable[str], timeout: float = 90) -> int:
        """Wait (bounded) until every one of `spans` was forwarded here; how many were not."""
        assert self.receiver is not None
        receiver, wanted = self.receiver, set(spans)
        return wait_for(lambda: len(wanted - receiver.received()), 0, timeout=timeout)


@pytest.fixture
def target() -> Iterator[LateTarget]:
    late = LateTarget()
    yield late
    if late.receiver is not None:
        late.receiver.close()


def test_storage_is_not_blocked_by_a_down_forward_target_and_forwarding_catches_up(server, database, tmp_path, target):
    running = collector(server, database, tmp_path / "queue", "--forward", target.url)
    try:
        with LoadGenerator(running) as load:
            load.wait_acknowledged(50)
            while_down = load.ledger.snapshot()
            assert wait_stored(server, database, while_down) == 0  # stored while the target is still down
            target.start()
            load.wait_acknowledged(30)
            acknowledged = load.stop().snapshot()
        late = target.missing(acknowledged)
        assert late == 0, f"{late} acknowledged spans were never forwarded"
        assert wait_stored(server, database, acknowledged) == 0
    finally:
        assert running.stop() == 0, running.text
    assert_exactly_once(server, database, acknowledged)


def test_a_forwarder_far_behind_is_shed_so_that_storage_goes_on(server, database, tmp_path, target):
    """Without shedding, a full queue held by the forwarder would refuse every request from then on; with it,
    acknowledgement goes on (a 429 now and then, when the writer is the one behind, is fair backpressure)."""
    running = collector(
        server, database, tmp_path / "queue", "--forward", target.url, "--queue-max-bytes", str(QUEUE_MAX_BYTES)
    )
    try:
        with LoadGenerator(running) as load:
            body = len(llm_request(0, load.spans_per_request)[0].SerializeToString())
            # Three times the queue's size in request bytes alone: the forwarder's backlog cannot all be kept.
            load.wait_acknowledged(3 * QUEUE_MAX_BYTES // body, timeout=120)
            target.start()
            before = load.ledger.snapshot()
            load.wait_acknowledged(30)
            acknowledged = load.stop().snapshot()
        late = target.missing(acknowledged.keys() - before.keys())
        assert late == 0, f"{late} spans acknowledged after the target came back were never forwarded"
        assert wait_stored(server, database, acknowledged) == 0
    finally:
        assert running.stop() == 0, running.text
    assert_exactly_once(server, database, acknowledged)
