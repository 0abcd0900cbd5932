# SPDX-License-Identifier: Apache-2.0
"""Reading a serialized `ExportTraceServiceRequest` with span attributes left as bytes, for speed.

Walking `KeyValue` messages costs about 1 µs per attribute in Python (a wrapper per message, a `WhichOneof`
per value), which made extraction the collector's bottleneck. So the request is parsed a second time (upb,
~1 µs per span) into `LeanRequest`: a wire-compatible view of the OTLP messages that keeps only what extraction
reads and declares `Span.attributes` (field 9) as `repeated bytes`, so each attribute is one `bytes` object.

`read_encoded` then gives exactly what `values.read` gives for the decoded attributes: the key is sliced from
the bytes, attributes whose key extraction does not read are skipped without decoding, and a wanted attribute
is decoded once per distinct encoding (`KeyValue.FromString`) and remembered — the same model, provider,
operation, finish reason or token count recurs on most spans; a new int or double (a token count, a cost) is
read from its bytes directly. Anything not in the simple shape (key first, then one value) is decoded in full,
so the result never depends on how a sender laid the fields out.

`_scan.c` does all of this in C for a request in the canonical shape (`EncodedReader.scan`), at a quarter of the
cost; this module stays its specification and reads whatever the C reader leaves to it.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

from .conventions import CUSTOM_PREFIX, READ
from .values import Found, read

# Declared, since it is None without the C reader; _scan.pyi lets mypy resolve the import of the extension.
_scan: ModuleType | None
try:
    from . import _scan  # this module's reading, in C (_scan.c), built when the install had a C compiler
except ImportError:
    _scan = None


def reads_in_c() -> bool:
    """Whether requests are read by the C reader (`_scan.c`); without it, by this module's Python reader alone."""
    return _scan is not None


_F = descriptor_pb2.FieldDescriptorProto
_PACKAGE = "llmledger.collector.lean.v1"


def _message_classes() -> dict[str, Any]:
    """Build the lean message types in the default pool (once), next to the real OTLP ones they refer to."""
    pool = descriptor_pool.Default()
    names = ("LeanRequest", "LeanResourceSpans", "LeanScopeSpans", "LeanSpan")
    try:
        pool.FindMessageTypeByName(f"{_PACKAGE}.LeanSpan")
    except KeyError:
        file = descriptor_pb2.FileDescriptorProto(
            name="llmledger/collector/lean.proto",
            package=_PACKAGE,
            syntax="proto3",
            dependency=[resource_pb2.DESCRIPTOR.name, trace_pb2.DESCRIPTOR.name],
        )

        def message(name: str, *fields: tuple[str, int, int, int, str]) -> None:
            proto = file.message_type.add(name=name)
            for field_name, number, kind, label, type_name in fields:
                field = proto.field.add(name=field_name, number=number, type=kind, label=label)
                if type_name:
                    field.type_name = type_name

        one, many = _F.LABEL_OPTIONAL, _F.LABEL_REPEATED
        message("LeanRequest", ("resource_spans", 1, _F.TYPE_MESSAGE, many, f".{_PACKAGE}.LeanResourceSpans"))
        message(
            "LeanResourceSpans",
            ("resource", 1, _F.TYPE_MESSAGE, one, ".opentelemetry.proto.resource.v1.Resource"),
            ("scope_spans", 2, _F.TYPE_MESSAGE, many, f".{_PACKAGE}.LeanScopeSpans"),
        )
        message("LeanScopeSpans", ("spans", 2, _F.TYPE_MESSAGE, many, f".{_PACKAGE}.LeanSpan"))
        message(
            "LeanSpan",
            ("trace_id", 1, _F.TYPE_BYTES, one, ""),
            ("span_id", 2, _F.TYPE_BYTES, one, ""),
            ("parent_span_id", 4, _F.TYPE_BYTES, one, ""),
            ("name", 5, _F.TYPE_STRING, one, ""),
            ("start_time_unix_nano", 7, _F.TYPE_FIXED64, one, ""),
            ("end_time_unix_nano", 8, _F.TYPE_FIXED64, one, ""),
            ("attributes", 9, _F.TYPE_BYTES, many, ""),
            ("status", 15, _F.TYPE_MESSAGE, one, ".opentelemetry.proto.trace.v1.Status"),
        )
        pool.Add(file)
    return {name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{_PACKAGE}.{name}")) for name in names}


LeanRequest: Any = _message_classes()["LeanRequest"]

_SKIP: tuple[str, Any] = ()  # type: ignore[assignment]  # an attribute extraction does not read: left out
_CUSTOM = CUSTOM_PREFIX.encode()
_CACHE_LIMIT = 50_000
_CACHE_ITEM_BYTES = 96  # longer encodings (prompts, ids) rarely recur: not remembered
_DOUBLE = struct.Struct("<d")


class EncodedReader:
    """`values.read(…, wanted)` of serialized `KeyValue`s, remembering what each encoding decoded to.

    The memory is per reader because whether an encoding is skipped depends on `wanted`.
    """

    def __init__(self, wanted: frozenset[str] = READ) -> None:
        self.wanted = wanted
        self._names = {key.encode(): key for key in wanted}
        self._cache: dict[bytes, tuple[str, Any]] = {}

    def scan(self, body: bytes) -> tuple[list[bytes], list[tuple[int, list[Any], list[Found | None]]]] | None:
        """The whole request read in C, when the extension is built and the request is in the canonical shape
        (else None): each resource serialized, and per scope (its resource's index, its spans, what this reader
        gives for each span's attributes). A span's found is None where the C reader left its attributes (then
        in `span.attributes`) to this one."""
        return None if _scan is None else _scan.scan(body, self._names, _CUSTOM)

    def __call__(self, attributes: Sequence[bytes]) -> Found:
        hits: list[Any] = list(map(self._cache.get, attributes))
        if None in hits:  # decode only the misses, found in C (a span has one or two: its response id, say)
            index = hits.index(None)
            try:
                while True:
                    hits[index] = self._decode(attributes[index])
                    index = hits.index(None, index + 1)
            except ValueError:
                pass
        return dict(filter(None, hits))  # `_SKIP` is empty, so falsy; later duplicates win, as in `read`

    def _decode(self, encoded: bytes) -> tuple[str, Any]:
        size = len(encoded)
        if size > 1 and encoded[0] == 0x0A and encoded[1] < 0x80:  # field 1 (key) first, length < 128
            end = 2 + encoded[1]
            key = encoded[2:end]
            name = self._names.get(key)
            if name is None:
                if not key.startswith(_CUSTOM) and _only_value_after(encoded, end, size):
                    return self._remember(encoded, _SKIP)
            else:  # a token count or a cost: new values arrive on most spans, and KeyValue.FromString costs ~3 µs
                number: int | float | None = _int_value(encoded, end, size)
                if number is None:
                    number = _double_value(encoded, end, size)
                if number is not None:
                    return self._remember(encoded, (name, number))
        # A wanted key, or a layout other than key-then-value: decode it as upb does.
        found = read((KeyValue.FromString(encoded),), self.wanted)
        if not found:
            return self._remember(encoded, _SKIP)
        ((name, value),) = found.items()
        return self._remember(encoded, (name, value))

    def _remember(self, encoded: bytes, result: tuple[str, Any]) -> tuple[str, Any]:
        if len(encoded) <= _CACHE_ITEM_BYTES:
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[encoded] = result
        return result


read_encoded = EncodedReader()  # reads what the conventions name (`READ`) and custom attributes


def _int_value(encoded: bytes, end: int, size: int) -> int | None:
    """The value when `encoded[end:]` is exactly one field 2 (AnyValue) holding exactly one `int_value` (field 3)
    of at most 63 bits; None for anything else (which upb then decodes)."""
    if not 4 <= size - end <= 12:  # tags, lengths and 1 to 9 bytes of varint: 63 bits (a negative int64 takes 10)
        return None
    if encoded[end] != 0x12 or encoded[end + 1] != size - end - 2 or encoded[end + 2] != 0x18:
        return None
    number = shift = 0
    for byte in encoded[end + 3 : size - 1]:
        if byte < 0x80:
            return None  # the varint ends before the value does: another field follows
        number |= (byte & 0x7F) << shift
        shift += 7
    last = encoded[size - 1]
    return None if last >= 0x80 else number | (last << shift)


def _double_value(encoded: bytes, end: int, size: int) -> float | None:
    """The value when `encoded[end:]` is exactly one field 2 (AnyValue) holding exactly one `double_value`
    (field 4, eight little-endian bytes); None for anything else."""
    if size - end != 11 or encoded[end] != 0x12 or encoded[end + 1] != 9 or encoded[end + 2] != 0x21:
        return None
    value: float = _DOUBLE.unpack_from(encoded, end + 3)[0]
    return value


def _only_value_after(encoded: bytes, end: int, size: int) -> bool:
    """Whether `encoded[end:]` is nothing or exactly one field 2 (value), so the key sliced is the only key."""
    if end == size:
        return True
    if end > size or encoded[end] != 0x12:
        return False
    position, length, shift = end + 1, 0, 0
    while position < size and shift < 64:
        byte = encoded[position]
        position += 1
        length |= (byte & 0x7F) << shift
        if byte < 0x80:
            return position + length == size
        shift += 7
    return False
