# SPDX-License-Identifier: Apache-2.0
"""The durable queue: records appended to segments, synced before `append()` returns, read by named consumers.

Appends are serialized by one lock but share their fsync (group commit): whoever finds no sync running syncs
everything written so far, and every appender whose record that covered returns together. With the `interval`
policy a background thread syncs every `fsync_interval` seconds instead and `append()` returns once the bytes are
written to the OS (a crash of the process loses nothing, a crash of the machine up to one interval).

Consumers see only synced records, so a position a consumer has committed always refers to the same bytes, even
after a crash cut off a torn tail (positions after the cut are then reused, but no consumer has seen them).
"""

from __future__ import annotations

import bisect
import fcntl
import logging
import os
import secrets
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Literal

from . import _cursors, _framing, _segments
from ._cursors import Cursor
from ._recent import RecentRecords
from ._segments import CorruptRecord, Record

_log = logging.getLogger(__name__)
FsyncPolicy = Literal["batch", "interval"]
_ID_FILE = "queue.id"


class QueueFull(Exception):
    """The queue holds `max_bytes` already; the sender should retry later."""


class RecordTooLarge(ValueError):
    """What was to be appended is larger than the whole queue: no retry can ever fit it."""


class DiskQueue:
    """A bounded, durable FIFO of byte records with one committed cursor per consumer.

    `consumers` name the readers; a segment is deleted once all of them have committed past it. A consumer in
    `sheddable` gives way when the queue is full: its oldest segment is skipped (counted in `shed_bytes`)
    rather than refusing new records, so a dead forwarding target never stops storage.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        consumers: Sequence[str] = ("store",),
        *,
        max_bytes: int = 1 << 30,
        fsync: FsyncPolicy = "batch",
        fsync_interval: float = 1.0,
        segment_bytes: int | None = None,
        sheddable: Iterable[str] = (),
        recent_bytes: int | None = None,
    ) -> None:
        if fsync not in ("batch", "interval"):
            raise ValueError(f"fsync policy {fsync!r}: use batch or interval")
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock_file = _lock(self.directory)
        self.id = _identity(self.directory)
        self.max_bytes = max_bytes
        self.fsync = fsync
        self.shed_bytes: dict[str, int] = dict.fromkeys(consumers, 0)
        self.corrupt_bytes = 0
        # 1/16 of the bound (64 MiB at most): room is freed, or shed, a sixteenth at a time
        self._segment_bytes = segment_bytes or min(max(max_bytes // 16, 4096), 64 << 20)
        self._sheddable = frozenset(sheddable)
        # The latest records, served to consumers from memory (1/16 of the bound, 16 MiB at most; 0: none)
        self._recent = RecentRecords(min(max_bytes // 16, 16 << 20) if recent_bytes is None else recent_bytes)
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._cursor_locks = {name: threading.Lock() for name in consumers}
        self._bases = _segments.bases(self.directory)
        end = self._bases[-1] + _segments.cut_torn_tail(self._path(self._bases[-1])) if self._bases else 0
        self._cursors = {name: self._load_cursor(name, end) for name in consumers}
        ahead = max(cursor.committed for cursor in self._cursors.values()) if self._cursors else end
        if not self._bases or ahead > end:  # a new queue, or (never expected) a cursor past the log's end
            end = max(end, ahead)
            self._bases.append(end)
        self._end = self._synced = end
        self._fd = os.open(self._path(self._bases[-1]), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        _cursors.sync_directory(self.directory)
        self._retired: list[int] = []  # descriptors of full segments, synced and closed by the next sync
        self._directory_dirty = False
        self._syncing = False
        self._closed = False
        self._interval = fsync_interval
        self._syncer: threading.Thread | None = None
        if fsync == "interval":
            self._syncer = threading.Thread(target=self._sync_periodically, name="llmledger-queue-sync", daemon=True)
            self._syncer.start()
        self._delete_consumed()

    # -- appending ---------------------------------------------------------------------------------------
    def append(self, *payloads: bytes) -> int:
        """Write `payloads` as consecutive records; once it returns they are durable (per the fsync policy).

        Returns the position after the last one. Raises QueueFull when they do not fit in `max_bytes`.
        """
        # Headers and payloads are written as they are, by one writev: no copy of a request's bytes into a frame.
        parts = [part for payload in payloads for part in (_framing.header(payload), payload)]
        size = sum(map(len, parts))
        if size > self.max_bytes:
            raise RecordTooLarge(f"{size} bytes to queue, more than the whole queue holds ({self.max_bytes})")
        with self._lock:
            if self._closed:
                raise QueueFull("queue is closed")
            if self._end - self._floor() + size > self.max_bytes and not self._shed(size):
                raise QueueFull(f"queue is full: it holds {self._end - self._floor()} of its {self.max_bytes} bytes")
            if self._end > self._bases[-1] and self._end - self._bases[-1] + size > self._segment_bytes:
                self._roll()
            try:
                written = os.writev(self._fd, parts)
                if written < size:  # a short write (a signal, a nearly full disk): the rest, as os.write takes it
                    view = memoryview(b"".join(parts))[written:]
                    while view:
                        view = view[os.write(self._fd, view) :]
            except OSError:  # disk full, say: take back the part written, or the next record lands after it
                os.ftruncate(self._fd, self._end - self._bases[-1])
                raise
            start = self._end
            for payload in payloads:
                end = start + _framing.HEADER.size + len(payload)
                self._recent.add(Record(start, end, payload))
                start = end
            self._end += size
            end = self._end
            if self.fsync == "batch":
                while self._synced < end:
                    if self._syncing:
                        self._changed.wait()
                    else:
                        self._sync_locked()
        return end

    def _roll(self) -> None:
        """Start a new segment at the current end; the full one is synced (and closed) by the next sync."""
        self._retired.append(self._fd)
        self._bases.append(self._end)
        self._fd = os.open(self._path(self._end), os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL, 0o644)
        self._directory_dirty = True

    def _sync_locked(self) -> None:
        """fsync everything written so far, releasing the lock meanwhile (appends go on, the next sync takes them)."""
        self._syncing = True
        target, descriptor, retired, dirty = self._end, self._fd, self._retired, self._directory_dirty
        self._retired, self._directory_dirty = [], False
        synced = False
        self._lock.release()
        try:
            for old in retired:
                os.fsync(old)
                os.close(old)
            os.fsync(descriptor)
            if dirty:
                _cursors.sync_directory(self.directory)
            synced = True
        finally:
            self._lock.acquire()
            self._syncing = False
            if synced:
                self._synced = max(self._synced, target)
            self._changed.notify_all()

    def _sync_periodically(self) -> None:
        with self._lock:
            while not self._closed:
                self._changed.wait(self._interval)
                if self._synced < self._end and not self._syncing:
                    try:
                        self._sync_locked()
                    except OSError:
                        _log.exception("queue: fsync failed")

    def forget_recent(self) -> None:
        """Drop the latest records kept in memory (the collector is short of it): consumers read them from the file."""
        with self._lock:
            self._recent.clear()

    def has_room(self) -> bool:
        """Whether an append may fit: below `max_bytes`, or room can be made by shedding."""
        with self._lock:
            return self._end - self._floor() < self.max_bytes or bool(self._sheddable_laggards())

    def _sheddable_laggards(self) -> list[str]:
        """The consumers holding the oldest segment, if all of them may be skipped past it (else none)."""
        floor = self._floor()
        laggards = [name for name, cursor in self._cursors.items() if cursor.committed <= floor]
        if len(self._bases) < 2 or not laggards or any(name not in self._sheddable for name in laggards):
            return []
        return laggards

    def _shed(self, needed: int) -> bool:
        """Make room by skipping whole segments of sheddable consumers that hold the floor; True if it fits now."""
        while self._end - self._floor() + needed > self.max_bytes:
            laggards = self._sheddable_laggards()
            if not laggards:
                return False
            floor, oldest_end = self._floor(), self._bases[1]
            for name in laggards:
                self.shed_bytes[name] += oldest_end - max(self._cursors[name].committed, self._bases[0])
                self._cursors[name] = Cursor(oldest_end)  # persisted by the consumer's next commit
                _log.warning("queue: full, %s skips %d bytes (counted)", name, oldest_end - floor)
            self._delete_consumed_locked()
        return self._end - self._floor() + needed <= self.max_bytes

    # -- consuming ---------------------------------------------------------------------------------------
    def read(self, position: int, max_bytes: int = 4 << 20, timeout: float = 0.0) -> list[Record]:
        """Synced records from `position` on (about `max_bytes` of them), waiting up to `timeout` for one.

        A position older than the oldest segment (skipped by shedding) reads from the oldest segment on.
        """
        with self._lock:
            if self._synced <= position and timeout > 0 and not self._closed:
                self._changed.wait_for(lambda: self._synced > position or self._closed, timeout)
            limit, bases = self._synced, list(self._bases)
            # from memory as from the file: up to the end of the position's segment
            following = bisect.bisect_right(bases, position)
            recent = self._recent.read(
                position, min(bases[following], limit) if following < len(bases) else limit, max_bytes
            )
        if recent:
            return recent
        while True:
            position = max(position, bases[0])
            index = bisect.bisect_right(bases, position) - 1
            segment_end = bases[index + 1] if index + 1 < len(bases) else limit
            stop = min(segment_end, limit)
            if position >= stop:
                return []
            try:
                records = list(_segments.read(self.directory, bases[index], position, stop, max_bytes))
            except CorruptRecord as error:
                records = []
                _log.error("queue: %s; skipping to the next segment (counted in dropped_corrupt_bytes)", error)
                with self._lock:
                    self.corrupt_bytes += segment_end - position
            if records or index + 1 == len(bases):
                return records
            position = segment_end  # the rest of this segment is a gap, or lost to corruption: step over it

    def recent_position(self, max_bytes: int, since: int = 0) -> int:
        """A record boundary at or after `since` from which about `max_bytes` at most are left to read."""
        with self._lock:
            if self._end - since <= max_bytes:
                return max(since, self._bases[0])
            later = [base for base in self._bases if base > since and self._end - base <= max_bytes]
            return later[0] if later else max(since, self._bases[-1])

    def cursor(self, consumer: str) -> Cursor:
        with self._lock:
            return self._cursors[consumer]

    def begin(self, consumer: str, start: int, end: int, rows_per_insert: int = 0) -> None:
        """Persist that `consumer` is about to deliver exactly [start, end) (re-formed as is after a crash)."""
        self._save(consumer, lambda cursor: Cursor(cursor.committed, (start, end), rows_per_insert))

    def commit(self, consumer: str, position: int) -> None:
        """Persist that `consumer` is done with everything before `position`; delete what nobody needs."""
        self._save(consumer, lambda cursor: Cursor(max(cursor.committed, position)))
        with self._lock:
            self._delete_consumed_locked()

    def _save(self, consumer: str, change: Callable[[Cursor], Cursor]) -> None:
        with self._cursor_locks[consumer]:
            with self._lock:
                cursor = change(self._cursors[consumer])
                self._cursors[consumer] = cursor
            _cursors.save(self._cursor_path(consumer), cursor)

    # -- size --------------------------------------------------------------------------------------------
    def size(self) -> int:
        """Bytes some consumer has yet to commit (what counts against `max_bytes`)."""
        with self._lock:
            return self._end - self._floor()

    def held_bytes(self) -> int:
        """Bytes a consumer that cannot be shed has yet to commit: what really stands between appends and full."""
        with self._lock:
            held = [cursor.committed for name, cursor in self._cursors.items() if name not in self._sheddable]
            return self._end - max(min(held, default=self._end), self._bases[0])

    def lag(self, consumer: str) -> int:
        with self._lock:
            return self._end - max(self._cursors[consumer].committed, self._bases[0])

    def close(self) -> None:
        """Sync and close; later appends raise QueueFull. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._changed.notify_all()
            while self._syncing:
                self._changed.wait()
            if self._synced < self._end or self._retired:
                self._sync_locked()
            os.close(self._fd)
            os.close(self._lock_file)
            self._recent.clear()
        if self._syncer is not None:
            self._syncer.join()

    # -- internals ---------------------------------------------------------------------------------------
    def _floor(self) -> int:
        committed = min((cursor.committed for cursor in self._cursors.values()), default=self._end)
        return max(committed, self._bases[0])

    def _delete_consumed(self) -> None:
        with self._lock:
            self._delete_consumed_locked()

    def _delete_consumed_locked(self) -> None:
        floor = self._floor()
        while len(self._bases) > 1 and self._bases[1] <= floor:
            self._path(self._bases.pop(0)).unlink(missing_ok=True)

    def _load_cursor(self, consumer: str, end: int) -> Cursor:
        cursor = _cursors.load(self._cursor_path(consumer))
        if cursor is None:  # a new consumer starts at the end: it takes what comes from now on
            cursor = Cursor(end)
            _cursors.save(self._cursor_path(consumer), cursor)
        return cursor

    def _path(self, base: int) -> Path:
        return _segments.path(self.directory, base)

    def _cursor_path(self, consumer: str) -> Path:
        return self.directory / f"{consumer}.cursor"


def _lock(directory: Path) -> int:
    """Hold `queue.lock` while open: two collectors appending to one queue would interleave their records."""
    descriptor = os.open(directory / "queue.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        raise OSError(f"the queue {directory} is in use by another collector") from None
    return descriptor


def _identity(directory: Path) -> str:
    """This queue's random id, made once: it keeps positions of a recreated queue from reusing old tokens."""
    path = directory / _ID_FILE
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        identity = secrets.token_hex(8)
        _cursors.write_atomically(path, identity.encode())
        return identity
