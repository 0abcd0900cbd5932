# SPDX-License-Identifier: Apache-2.0
"""ClickHouse's Native format, written straight from columns of Python values: one block, sent as it is.

clickhouse-connect's own insert path converts every value through its type objects, in Python, which would make
the writer a large part of the collector's CPU. A Native block is the server's own layout,
column after column, so most of it is one C call per column: fixed-width numbers are `array(...).tobytes()`,
and a string column encodes each distinct value once (ids, all of one length, are joined in one go).

String columns, most of what is left, are encoded in C when the optional extension `_native_format.c` is built
(`python_strings` below is its specification and fallback). Only what `llm_calls` needs is here: Int64 (also
DateTime64 and Decimal(18, S) from scaled integers), UInt32, Float64, Bool, String and Map(String, String). A
value a column cannot take raises `Unencodable` naming the column, before anything is sent.
"""

from __future__ import annotations

import itertools
from array import array
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

_native_format: ModuleType | None
try:
    from . import _native_format  # `python_strings` in C, built when the install had a C compiler
except ImportError:
    _native_format = None

Encoder = Callable[[Sequence[Any]], bytes]


class Unencodable(ValueError):
    """A value its column's type cannot hold (a negative count, a non-string text, a cost past its decimals)."""


def _leb128(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _prefixed(text: str) -> bytes:
    data = text.encode()
    size = len(data)
    return (bytes((size,)) if size < 0x80 else _leb128(size)) + data


def strings(values: Sequence[str]) -> bytes:
    """A String column: each value's UTF-8 bytes after their length (LEB128)."""
    if _native_format is not None:
        return _native_format.strings(values)
    return python_strings(values)


def python_strings(values: Sequence[str]) -> bytes:
    """`strings` in Python: what `_native_format.strings` must give, and what runs without it."""
    if not values:
        return b""
    first = values[0]
    size = len(first) if isinstance(first, str) else -1
    if 0 <= size < 0x80 and set(map(len, values)) == {size}:  # ids: all of one length
        joined = "".join(values)  # TypeError for a non-string
        if joined.isascii():
            separator = chr(size)
            return (separator + separator.join(values)).encode()
    encoded = {value: _prefixed(value) for value in set(values)}
    return b"".join(map(encoded.__getitem__, values))


def int64(values: Sequence[int]) -> bytes:
    return array("q", values).tobytes()


def uint32(values: Sequence[int]) -> bytes:
    return array("I", values).tobytes()


def uint64(values: Sequence[int]) -> bytes:
    return array("Q", values).tobytes()


def float64(values: Sequence[float]) -> bytes:
    return array("d", values).tobytes()


def booleans(values: Sequence[bool]) -> bytes:
    return bytes(map(bool, values))


def string_map(values: Sequence[dict[str, str]]) -> bytes:
    """Map(String, String): cumulative entry counts (UInt64), then every key, then every value."""
    offsets = uint64(list(itertools.accumulate(map(len, values))))
    keys = [key for value in values for key in value]
    items = [item for value in values for item in value.values()]
    return offsets + strings(keys) + strings(items)


assert array("I").itemsize == 4 and array("q").itemsize == 8 and array("Q").itemsize == 8


def block(columns: Sequence[tuple[str, str, Encoder, Sequence[Any]]]) -> bytes:
    """One Native block of (name, ClickHouse type, encoder, values) columns, all of the same length."""
    rows = len(columns[0][3]) if columns else 0
    out = bytearray(_leb128(len(columns)) + _leb128(rows))
    for name, type_name, encode, values in columns:
        if len(values) != rows:
            raise Unencodable(f"column {name} has {len(values)} values, not {rows}")
        try:
            data = encode(values)
        except (TypeError, ValueError, OverflowError, AttributeError, UnicodeError) as error:
            raise Unencodable(f"column {name} ({type_name}) cannot take a value: {error}") from error
        out += _prefixed(name)
        out += _prefixed(type_name)
        out += data
    return bytes(out)
