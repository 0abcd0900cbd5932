# SPDX-License-Identifier: Apache-2.0
"""The records appended last, kept in memory for the consumers that read them a few milliseconds later.

Both consumers read every record (the writer skips the forward records, the forwarder the store records), and
a record is most of a request: 150 KiB of an app's spans. Read back through the file, each costs every consumer
a read from the page cache, a copy out of the read buffer and a checksum. Served from here, a consumer gets the
very bytes that were appended, once they are synced: the same records at the same positions as in the file,
which a consumer that fell further behind (or a restarted collector) reads instead.
"""

from __future__ import annotations

from collections import deque

from ._segments import Record


class RecentRecords:
    """At most `max_bytes` of the latest records, by start position. Not thread-safe: the queue's lock guards it."""

    __slots__ = ("_by_start", "_bytes", "_max_bytes", "_order")

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._by_start: dict[int, Record] = {}
        self._order: deque[Record] = deque()
        self._bytes = 0

    def add(self, record: Record) -> None:
        """Keep `record`, forgetting the oldest ones beyond the bound."""
        if len(record.payload) > self._max_bytes:
            self.clear()
            return
        self._by_start[record.start] = record
        self._order.append(record)
        self._bytes += len(record.payload)
        while self._bytes > self._max_bytes:
            oldest = self._order.popleft()
            del self._by_start[oldest.start]
            self._bytes -= len(oldest.payload)

    def read(self, position: int, limit: int, max_bytes: int) -> list[Record]:
        """The kept records from `position` on, ending at `limit` at most, about `max_bytes` of them; [] when the
        record at `position` is not kept (the caller reads the file)."""
        found: list[Record] = []
        size = 0
        record = self._by_start.get(position)
        while record is not None and record.end <= limit and size < max_bytes:
            found.append(record)
            size += len(record.payload)
            record = self._by_start.get(record.end)
        return found

    def clear(self) -> None:
        self._by_start.clear()
        self._order.clear()
        self._bytes = 0
