# SPDX-License-Identifier: Apache-2.0
"""The collector's durable queue: what a receiver acknowledged is on disk until every consumer committed it.

    DiskQueue(directory, consumers=("store", "forward"), max_bytes=…, fsync="batch" | "interval")
      .append(*payloads) -> position      durable when it returns; QueueFull when max_bytes is reached
      .read(position, max_bytes, timeout) -> [Record(start, end, payload)]
      .begin(consumer, start, end)        persist the batch in flight (re-formed exactly after a crash)
      .commit(consumer, position)         persist progress; segments every consumer passed are deleted
      .cursor(consumer) -> Cursor(committed, inflight, rows_per_insert)

Layout of the directory: `queue.id` (random, names this queue in deduplication tokens), `<position>.seg`
segments of records (length, CRC-32, payload), `<consumer>.cursor` JSON files replaced atomically.
"""

from ._cursors import Cursor
from ._queue import DiskQueue, FsyncPolicy, QueueFull, RecordTooLarge
from ._segments import Record

__all__ = ["Cursor", "DiskQueue", "FsyncPolicy", "QueueFull", "Record", "RecordTooLarge"]
