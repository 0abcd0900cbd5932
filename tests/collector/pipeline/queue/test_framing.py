# SPDX-License-Identifier: Apache-2.0
"""Record framing: length + CRC-32 + payload; any torn or flipped byte ends the valid log before it."""

from __future__ import annotations

import random
import zlib

from llmledger.collector.pipeline.queue import _framing


def test_a_framed_payload_reads_back_whole_with_the_offset_after_it():
    data = _framing.frame(b"first") + _framing.frame(b"") + _framing.frame(b"third")
    first, offset = _framing.unframe(data)
    empty, offset = _framing.unframe(data, offset)
    third, offset = _framing.unframe(data, offset)
    assert (first, empty, third, offset) == (b"first", b"", b"third", len(data))
    assert _framing.valid_length(data) == len(data)


def test_a_record_cut_at_any_byte_is_not_read_and_the_valid_length_stops_before_it():
    whole = _framing.frame(b"acknowledged")
    last = _framing.frame(b"being written when the process died")
    for cut in range(len(last)):
        data = whole + last[:cut]
        assert _framing.valid_length(data) == len(whole), cut
        assert _framing.unframe(data, len(whole)) is None


def test_any_flipped_byte_in_header_or_payload_fails_the_checksum():
    record = _framing.frame(b"payload")
    for index in range(len(record)):
        damaged = bytearray(record)
        damaged[index] ^= 0x01
        assert _framing.valid_length(bytes(damaged)) == 0, index


def test_an_absurd_length_is_rejected_without_reading_that_far():
    header = _framing.HEADER.pack(_framing.MAX_PAYLOAD + 1, 0)
    assert _framing.unframe(header + b"x" * 10) is None


def test_the_format_on_disk_is_length_then_zlibs_crc32_of_length_and_payload():
    # Queues written by any version read back: the checksum is zlib's CRC-32 whichever library computes it.
    rng = random.Random(7)
    for size in (0, 1, 31, 4096, 150_000, 1 << 20):
        payload = rng.randbytes(size)
        length = size.to_bytes(4, "little")
        expected = length + zlib.crc32(payload, zlib.crc32(length)).to_bytes(4, "little") + payload
        assert _framing.frame(payload) == expected, size
        assert _framing.header(payload) + payload == expected, size
