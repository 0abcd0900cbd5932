# SPDX-License-Identifier: Apache-2.0
"""Instants as commands take them: an ISO 8601 time (UTC when it names no zone) or an age back from now."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

from ._options import UsageError

_AGE = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def instant_ns(text: str, option: str, now_ns: int | None = None) -> int:
    """`text` (2026-11-01, 2026-11-01T12:00Z, or an age: 30m, 24h, 7d, 4w) as Unix ns; UsageError naming `option`."""
    now_ns = time.time_ns() if now_ns is None else now_ns
    age = _AGE.match(text)
    if age:
        return now_ns - int(age.group(1)) * _SECONDS[age.group(2)] * 10**9
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"{option} {text!r} is neither an ISO 8601 time (2026-11-01, 2026-11-01T12:00Z) nor an age (7d, 24h)"
        ) from None
    since = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)) - _EPOCH
    return (since.days * 86_400 + since.seconds) * 10**9 + since.microseconds * 1000


def iso(unix_ns: int) -> str:
    """Unix ns as `2026-11-01 12:00:00 UTC`, for messages."""
    return datetime.fromtimestamp(unix_ns // 10**9, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
