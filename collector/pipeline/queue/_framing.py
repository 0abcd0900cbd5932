# SPDX-License-Identifier: Apache-2.0
"""One record on disk: length (4 bytes), CRC-32 of length and payload (4 bytes), payload.

The checksum covers the length too, so a torn or garbled header is caught as surely as a torn payload: after a
kill -9 in the middle of a write, the first record that does not check out marks where the valid log ends.
"""

from __future__ import annotations

import struct
import zlib

HEADER = struct.Struct("<II")
MAX_PAYLOAD = 1 << 30  # a length beyond this is garbage, not a record


def frame(payload: bytes) -> bytes:
    """`payload` as it is written to a segment."""
    return HEADER.pack(len(payload), _checksum(len(payload), payload)) + payload


def unframe(buffer: bytes | memoryview, offset: int = 0) -> tuple[bytes, int] | None:
    """The payload of the record at `offset` and the offset after it; None unless a whole valid record is there."""
    if len(buffer) - offset < HEADER.size:
        return None
    length, checksum = HEADER.unpack_from(buffer, offset)
    end = offset + HEADER.size + length
    if length > MAX_PAYLOAD or end > len(buffer):
        return None
    payload = bytes(buffer[offset + HEADER.size : end])
    return (payload, end) if _checksum(length, payload) == checksum else None


def valid_length(buffer: bytes | memoryview) -> int:
    """How many leading bytes of `buffer` are whole, valid records (where a torn tail starts)."""
    offset = 0
    while (found := unframe(buffer, offset)) is not None:
        offset = found[1]
    return offset


def _checksum(length: int, payload: bytes) -> int:
    return zlib.crc32(payload, zlib.crc32(length.to_bytes(4, "little")))
