# SPDX-License-Identifier: Apache-2.0
"""Protobuf's wire format written by hand, for tests that need bytes no message class would produce."""

from __future__ import annotations


def varint(number: int) -> bytes:
    """`number` (≥ 0) as a base-128 varint."""
    out = bytearray()
    while True:
        byte = number & 0x7F
        number >>= 7
        out.append(byte | (0x80 if number else 0))
        if not number:
            return bytes(out)


def field(number: int, body: bytes) -> bytes:
    """A length-delimited field `number` holding `body`."""
    return varint(number << 3 | 2) + varint(len(body)) + body
