# SPDX-License-Identifier: Apache-2.0
"""The queue's files: append-only segments named by the position of their first byte (`<20 digits>.seg`).

A position is a byte offset in the whole log, never reused: segment `00000000000000004096.seg` holds positions
4096 onwards, up to the next segment's name. Only the last segment is ever appended to; older ones are whole
(fsynced before the next was opened) and are deleted once every consumer has committed past them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from . import _framing

_log = logging.getLogger(__name__)
SUFFIX = ".seg"


class CorruptRecord(Exception):
    """A record inside the durable part of the log fails its checksum: the disk changed it."""


class Record(NamedTuple):
    start: int  # position of the record's first byte
    end: int  # position after it: where the next record starts, and what a consumer commits
    payload: bytes


def path(directory: Path, base: int) -> Path:
    return directory / f"{base:020d}{SUFFIX}"


def bases(directory: Path) -> list[int]:
    """The segments in `directory`, by the position they start at, oldest first."""
    return sorted(int(entry.stem) for entry in directory.glob(f"*{SUFFIX}") if entry.stem.isdigit())


def cut_torn_tail(segment: Path) -> int:
    """Truncate `segment` after its last whole, valid record; its valid length.

    What is cut was never acknowledged: a request is acknowledged only after its record is written and synced,
    and a record cannot be valid until all of it is written.
    """
    data = segment.read_bytes()
    valid = _framing.valid_length(data)
    if valid < len(data):
        _log.warning("queue: cutting a torn tail of %d byte(s) off %s (never acknowledged)", len(data) - valid, segment)
        with open(segment, "r+b") as file:
            file.truncate(valid)
            file.flush()
            os.fsync(file.fileno())
    return valid


def read(directory: Path, base: int, position: int, limit: int, max_bytes: int) -> Iterator[Record]:
    """Records of segment `base` from `position` (a record boundary) up to position `limit`, about `max_bytes`.

    Raises CorruptRecord at a record that does not check out inside the durable part (a damaged disk).
    """
    try:
        file = open(path(directory, base), "rb", buffering=1 << 20)  # noqa: SIM115 (closed by the `with` below)
    except FileNotFoundError:
        return
    with file:
        file.seek(position - base)
        first = position
        while position < limit and position - first < max_bytes:
            header = file.read(_framing.HEADER.size)
            if not header:
                return  # the file ends before `limit`: a gap the queue steps over
            length, checksum = _framing.HEADER.unpack(header) if len(header) == _framing.HEADER.size else (-1, 0)
            end = position + _framing.HEADER.size + length
            # Read straight into the payload's bytes (no copy through a joined buffer): a record is 150 KiB of an
            # app's spans, read by each consumer.
            payload = file.read(length) if 0 <= length <= _framing.MAX_PAYLOAD and end <= limit else b""
            if not _framing.checks_out(length, checksum, payload):
                raise CorruptRecord(f"the record at position {position} of {path(directory, base)} is corrupt")
            yield Record(position, end, payload)
            position = end
