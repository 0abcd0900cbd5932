# SPDX-License-Identifier: Apache-2.0
"""The collector's memory limit (`--memory-limit-mib`), as the OpenTelemetry Collector's memory_limiter: under a
burst it sheds load with backpressure, never by running out of memory, and never by dropping what it accepted.

    limit = MemoryLimit(512 << 20)
    with limit.reserve(content_length) as held:   # before the body is read: MemoryPressure when it cannot fit
        body = read(...)
        held.grow(len(body))                       # a gzip body, once its real size is known
        pipeline.accept(request, body)             # durable when this returns; the reservation ends after

Every request holds, while it is in flight, a reservation of `EXPANSION` times its size (its bytes, the parsed
message, the queue records made of it). A request is admitted when the memory the collector's processes hold
(resident set of the collector and of its extraction workers, read from /proc at most every `interval` s; not
the embedded ClickHouse it may start, whose memory is ClickHouse's own to bound) plus
every reservation, its own included, stays under the soft limit (`SOFT` of the limit): the rest is headroom for
what is not reserved (the writer's batch, the forwarder's reads, the allocator's slack). A request refused is
refused before its body is read, with a retry delay: OTLP/HTTP 503 with Retry-After, gRPC UNAVAILABLE with a
RetryInfo, which every OTel SDK exporter retries. While the resident set is over the soft limit the collector
gives freed memory back to the system (`gc.collect`, glibc's `malloc_trim`) at most once a second, having first
dropped what it keeps only to go faster (the queue's latest records in memory: `release_on_pressure`).

With nothing else in flight a request is admitted whatever its size while the resident set is under the soft
limit, so that a request larger than the room left still goes through, alone, rather than being refused forever;
and over the soft limit, while it fits under the limit itself. A Python process does not always give back what a
burst made it take (freed memory stays in fragmented arenas), so a collector can rest a little over its soft limit
with nothing in flight: refusing everything then would stop ingestion until something else freed memory, where
taking one request at a time keeps it going, slowly, and under the limit.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Final

EXPANSION: Final = 4  # bytes held per byte of a request in flight: body, parsed message, queue records
SOFT: Final = 0.8  # of the limit: what reservations and the resident set may reach; the rest is headroom
DEFAULT_MAX_MIB: Final = 2048
_PAGE = os.sysconf("SC_PAGE_SIZE")


class MemoryPressure(Exception):
    """The collector is at its memory limit: the request is refused before it is read; retry after `retry_after` s
    (receivers answer OTLP/HTTP 503 with Retry-After, gRPC UNAVAILABLE with a RetryInfo)."""

    def __init__(self, retry_after: int, reason: str) -> None:
        super().__init__(f"{reason}; retry after {retry_after} s")
        self.retry_after = retry_after


def default_limit_mib(total_bytes: int | None = None) -> int:
    """Half the memory this process may use (its cgroup's limit, else the machine's), at most 2 GiB."""
    total = total_bytes if total_bytes is not None else _available_memory()
    return max(64, min(DEFAULT_MAX_MIB, total // 2 >> 20))


def _available_memory() -> int:
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit.isdigit():
            return int(limit)
    except OSError:
        pass
    return os.sysconf("SC_PHYS_PAGES") * _PAGE


def resident_bytes(pids: list[int]) -> int:
    """The resident set of processes (0 for one that is gone)."""
    total = 0
    for pid in pids:
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE
        except (OSError, IndexError, ValueError):
            continue
    return total


class Processes:
    """The resident set of this process and of the processes `include`d (its extraction workers; never the
    embedded ClickHouse it also starts, whose memory is ClickHouse's to bound)."""

    def __init__(self) -> None:
        self._others: Callable[[], Iterable[int]] = list

    def include(self, pids: Callable[[], Iterable[int]]) -> None:
        """Count the processes `pids()` names (asked at each reading: a worker may be replaced)."""
        self._others = pids

    def __call__(self) -> int:
        return resident_bytes([os.getpid(), *self._others()])


def _trim() -> None:
    """Give memory freed by Python back to the system (collected cycles, glibc's free heap)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing more to give back
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class Reservation:
    """What one request holds of the limit while in flight; `grow` when its real size is known."""

    def __init__(self, limit: MemoryLimit, size: int) -> None:
        self._limit = limit
        self.size = size

    def grow(self, size: int) -> None:
        """Hold `size` (× EXPANSION) rather than what was reserved, if more; MemoryPressure when it cannot fit (the
        reservation is then released)."""
        more = size * EXPANSION - self.size
        if more > 0 and self._limit.limit is not None:
            self._limit._take(more, alone=False, reservation=self)
            self.size += more


class MemoryLimit:
    """The limit in bytes (None: no limit), the reservations of the requests in flight, and the resident set."""

    def __init__(
        self,
        limit_bytes: int | None,
        *,
        interval: float = 0.05,
        resident: Callable[[], int] | None = None,
        retry_after: int = 1,
    ) -> None:
        self.limit = limit_bytes
        self.soft = int(limit_bytes * SOFT) if limit_bytes is not None else None
        self.retry_after = retry_after
        self.refused = 0  # requests refused for memory since start
        self._interval = interval
        self.processes = Processes()  # what the resident set is read of, unless `resident` is given
        self._resident = resident or self.processes
        self._lock = threading.Lock()
        self._reserved = 0
        self._in_flight = 0
        self._measured = 0
        self._measured_at = -1.0
        self._trimmed_at = -1.0
        # What the collector holds only to go faster, let go of before memory is given back (`release_on_pressure`)
        self._releases: list[Callable[[], None]] = []

    @contextlib.contextmanager
    def reserve(self, size: int) -> Iterator[Reservation]:
        """Hold `size` × EXPANSION bytes while the block runs; MemoryPressure (before the block) when they cannot
        fit under the soft limit."""
        if self.limit is None:
            yield Reservation(self, 0)
            return
        reservation = Reservation(self, 0)
        self._take(size * EXPANSION, alone=True, reservation=None)
        reservation.size = size * EXPANSION
        try:
            yield reservation
        finally:
            with self._lock:
                self._reserved -= reservation.size
                self._in_flight -= 1

    def _take(self, amount: int, *, alone: bool, reservation: Reservation | None) -> None:
        """Reserve `amount` for a new request (`alone`: it counts as one more in flight) or for `reservation`
        growing; MemoryPressure when it does not fit."""
        assert self.soft is not None and self.limit is not None
        resident = self.resident()
        over = resident >= self.soft
        with self._lock:
            fits = resident + self._reserved + amount <= self.soft
            if not fits and alone and self._in_flight == 0:  # one request at a time goes through:
                fits = not over or resident + amount <= self.limit  # past the soft limit, if it fits under the limit
            if fits:
                self._reserved += amount
                if alone:
                    self._in_flight += 1
            else:
                self.refused += 1
        if over:
            self._give_back()
        if fits:
            return
        raise MemoryPressure(
            self.retry_after,
            f"the collector is at its memory limit ({resident >> 20} MiB resident, {self._reserved >> 20} MiB held "
            f"by requests in flight, of a limit of {self.limit >> 20 if self.limit else 0} MiB)",
        )

    def resident(self) -> int:
        """The resident set of the collector and its workers, read at most every `interval` s."""
        now = time.monotonic()
        if now - self._measured_at >= self._interval:
            self._measured, self._measured_at = self._resident(), now
        return self._measured

    def release_on_pressure(self, release: Callable[[], None]) -> None:
        """Call `release` (dropping a cache) whenever the resident set is over the soft limit, before memory is
        given back to the system."""
        self._releases.append(release)

    def _give_back(self) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._trimmed_at < 1.0:
                return
            self._trimmed_at = now
        for release in self._releases:
            release()
        _trim()
        self._measured_at = -1.0  # measure again at the next request

    def over(self) -> bool:
        """Whether the resident set is over the soft limit (the collector is not ready for more)."""
        return self.soft is not None and self.resident() >= self.soft

    @property
    def reserved(self) -> int:
        """Bytes held by the requests in flight."""
        return self._reserved
