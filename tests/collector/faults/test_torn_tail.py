# SPDX-License-Identifier: Apache-2.0
"""A write torn by a kill -9 (half a record at the end of the last segment) is cut off on the restart: nothing
acknowledged is lost, and what is acknowledged after the restart is readable after the next crash too — it must
not have been appended behind the torn bytes."""

from __future__ import annotations

import os
import struct
from decimal import Decimal
from pathlib import Path

from .accounting import assert_exactly_once, missing, wait_stored
from .load import LoadGenerator
from .processes import collector, kill


def _tear(queue: Path) -> None:
    """Append half a record to the newest segment, as a write cut short leaves it: a header (length, CRC-32)
    promising more payload than follows."""
    newest = max(queue.glob("*.seg"), key=lambda path: int(path.stem))
    with newest.open("ab") as segment:
        segment.write(struct.pack("<II", 4096, 0x5EED) + os.urandom(1000))


def _run_and_kill(server, database: str, queue: Path) -> dict[str, Decimal]:
    """A collector on `queue` under load, killed once 40 requests were acknowledged; what was acknowledged."""
    # A 1 s flush interval keeps acknowledged spans waiting in the queue when the kill comes.
    running = collector(server, database, queue, "--flush-interval", "1")
    with LoadGenerator(running) as load:
        load.wait_acknowledged(40)
        kill(running)
        return load.stop().snapshot()


def test_a_torn_tail_is_cut_off_and_later_records_survive_the_next_crash(server, database, tmp_path):
    queue = tmp_path / "queue"
    before = _run_and_kill(server, database, queue)
    _tear(queue)
    after = _run_and_kill(server, database, queue)
    # Acknowledged after the tear and not yet stored at the second kill: only the queue has them.
    assert missing(server, database, after), "nothing acknowledged after the tear was left in the queue"

    last = collector(server, database, queue)
    try:
        assert wait_stored(server, database, before | after) == 0
    finally:
        assert last.stop() == 0, last.text
    assert_exactly_once(server, database, before | after)
