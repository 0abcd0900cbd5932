# SPDX-License-Identifier: Apache-2.0
"""Jittered exponential backoff that a shutdown can interrupt, shared by the ClickHouse writer and the forwarder.

Each wait is `delay · uniform(0.5, 1.5)` (so retrying collectors do not hammer a recovering server in step), the
delay doubling up to `maximum`; a server's own hint (Retry-After) replaces the computed delay when given.
"""

from __future__ import annotations

import random
import threading


class Backoff:
    def __init__(self, initial: float, maximum: float, abort: threading.Event) -> None:
        self.initial = initial
        self.maximum = maximum
        self._abort = abort
        self._delay = initial

    def wait(self, hint: float | None = None) -> bool:
        """Sleep before the next attempt; False if aborted meanwhile (give up, leave the work queued)."""
        delay = hint if hint is not None else self._delay * random.uniform(0.5, 1.5)
        self._delay = min(self._delay * 2, self.maximum)
        return not self._abort.wait(min(delay, self.maximum))

    def reset(self) -> None:
        self._delay = self.initial
