# SPDX-License-Identifier: Apache-2.0
"""Requests the receivers refused, counted by protocol and reason, for `/metrics`.

Reasons are a small closed set (below), so the exposition stays bounded whatever a client sends.
"""

from __future__ import annotations

import threading
from typing import Final

UNAUTHENTICATED: Final = "unauthenticated"  # no or wrong bearer token
TOO_LARGE: Final = "too_large"  # body or message over --max-request-bytes (compressed or not)
MALFORMED: Final = "malformed"  # not a decodable Export…ServiceRequest (protobuf, JSON, gzip, framing)
UNSUPPORTED: Final = "unsupported"  # media type, content encoding, path or method
BACKPRESSURE: Final = "backpressure"  # the pipeline is full; the client should retry
MEMORY_LIMIT: Final = "memory_limit"  # the collector is at its memory limit; the client should retry
INTERNAL: Final = "internal"  # our fault: logged with its traceback


class Rejections:
    """Thread-safe counters of refused requests; one instance shared by both receivers."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def count(self, protocol: str, reason: str) -> None:
        key = (protocol, reason)
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1

    def snapshot(self) -> dict[tuple[str, str], int]:
        """{(protocol, reason): requests refused} so far."""
        with self._lock:
            return dict(self._counts)
