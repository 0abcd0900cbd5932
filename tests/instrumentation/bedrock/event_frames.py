# SPDX-License-Identifier: Apache-2.0
"""AWS event-stream frames (`application/vnd.amazon.eventstream`), to cut a recorded stream or add an error to it.

A frame is: total length and headers length (4-byte big-endian each), the CRC32 of those 8 bytes, the headers
(name length, name, type 7 = string, value length, value), the payload, and the CRC32 of all that came before.
"""

from __future__ import annotations

import json
import struct
import zlib

_STRING = 7


def frames(body: bytes) -> list[bytes]:
    """A recorded event-stream body, frame by frame."""
    found, offset = [], 0
    while offset < len(body):
        (length,) = struct.unpack_from(">I", body, offset)
        found.append(body[offset : offset + length])
        offset += length
    return found


def payload(frame: bytes) -> bytes:
    """The payload of one frame."""
    total, headers = struct.unpack_from(">II", frame)
    return frame[12 + headers : total - 4]


def frame(headers: dict[str, str], payload: bytes) -> bytes:
    encoded = b"".join(
        bytes([len(name)]) + name.encode() + bytes([_STRING]) + struct.pack(">H", len(value)) + value.encode()
        for name, value in headers.items()
    )
    prelude = struct.pack(">II", 16 + len(encoded) + len(payload), len(encoded))
    head = prelude + struct.pack(">I", zlib.crc32(prelude)) + encoded + payload
    return head + struct.pack(">I", zlib.crc32(head))


def exception(kind: str, message: str) -> bytes:
    """The frame Bedrock sends when a stream fails part way, e.g. `modelStreamErrorException`."""
    return frame(
        {":message-type": "exception", ":exception-type": kind, ":content-type": "application/json"},
        json.dumps({"message": message}).encode(),
    )


def event(kind: str, payload: bytes) -> bytes:
    """An event frame, e.g. a ConverseStream `metadata` event."""
    return frame({":message-type": "event", ":event-type": kind, ":content-type": "application/json"}, payload)
