# SPDX-License-Identifier: Apache-2.0
"""The duplicate filter: which spans the collector has already taken, so that an SDK's re-send is not counted twice.

A span is known by its trace id + span id (hex). The pipeline asks `add_all` for a request's keys and queues only
the spans that were new; when the queue then refuses the request, `forget` takes its keys back, so that the
sender's retry is not mistaken for a re-send.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterable, Iterator, Sequence


class SeenSpans:
    """The last `capacity` span keys (trace id + span id, hex), oldest forgotten first.

    Sized for SDK retries, which come within seconds: 200k keys take a few tens of MB. A restarted pipeline seeds it
    from the calls still in the queue and from the latest calls in ClickHouse (`Pipeline.remember_stored`), so
    an exporter re-sending what the collector stored before a crash is still caught. Past the window a re-send
    collapses in `llm_calls` under FINAL (same sort key) but the rollups count it again.
    """

    CAPACITY = 200_000
    _SEED_CHUNK = 4096

    def __init__(self, capacity: int = CAPACITY) -> None:
        # A set for membership and the keys in the order they came, a request's at a time: a request's keys are
        # tested, added and (once old) forgotten by whole-set operations in C, not one by one in Python as an
        # OrderedDict would take them, in the one process that receives every span. (A dict alone would not do:
        # finding its oldest key, `next(iter(d))`, walks past every key deleted before it.)
        self._seen: set[str] = set()
        self._chunks: deque[list[str]] = deque()  # disjoint, and together exactly `_seen`
        self._capacity = capacity

    def add_all(self, keys: Sequence[str]) -> Sequence[int]:
        """Remember `keys`; the indexes of those that were new (a key repeated within `keys` is new once)."""
        seen = self._seen
        before = len(seen)
        if seen.isdisjoint(keys):
            seen.update(keys)
            if len(seen) - before == len(keys):
                new: Sequence[int] = range(len(keys))
                chunk = list(keys)
            else:  # a key twice in the same request: its first time is the new one
                first: dict[str, int] = {}
                for index, key in enumerate(keys):
                    first.setdefault(key, index)
                new, chunk = list(first.values()), list(first)
        else:
            new, chunk = [], []
            for index, key in enumerate(keys):
                if key not in seen:
                    seen.add(key)
                    chunk.append(key)
                    new.append(index)
        if chunk:  # a request of re-sends only adds nothing: no empty chunk piles up while the set is not full
            self._chunks.append(chunk)
            self._trim()
        return new

    def add(self, key: str) -> bool:
        """True if `key` is new (and now remembered)."""
        return bool(self.add_all((key,)))

    def _trim(self) -> None:
        seen, chunks = self._seen, self._chunks
        while len(seen) > self._capacity:
            excess = len(seen) - self._capacity
            oldest = chunks[0]
            if len(oldest) <= excess:
                chunks.popleft()
                seen.difference_update(oldest)
            else:
                seen.difference_update(oldest[:excess])
                del oldest[:excess]

    def __iter__(self) -> Iterator[str]:
        return itertools.chain.from_iterable(list(self._chunks))

    def remember(self, keys: Iterable[str]) -> None:
        """Add `keys`, oldest first (seeding the memory after a restart)."""
        iterator = iter(keys)
        while chunk := list(itertools.islice(iterator, self._SEED_CHUNK)):
            self.add_all(chunk)

    def forget(self, keys: Iterable[str]) -> None:
        """Forget `keys` just added: their request was refused, and its retry must not count as a duplicate."""
        gone = self._seen.intersection(keys)
        if not gone:
            return
        self._seen.difference_update(gone)
        left = len(gone)
        for chunk in reversed(self._chunks):  # just added: among the newest chunks
            kept = [key for key in chunk if key not in gone]
            if len(kept) < len(chunk):
                left -= len(chunk) - len(kept)
                chunk[:] = kept
                if not left:
                    return
