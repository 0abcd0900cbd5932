# SPDX-License-Identifier: Apache-2.0
"""Reading spans: a serialized `ExportTraceServiceRequest` → per scope, its resource's dimensions, its spans, and
of each span the attributes extraction reads (`Found`), with nothing decoded that extraction does not need.

    reader = SpanReader(selection)           # once, at start: the C reader where it is built
    for resource, spans, founds in reader.scopes(body): ...

The Python reader is the specification. Walking `KeyValue` messages makes Python objects for every attribute (a
wrapper per message, a `WhichOneof` per value), so the request is parsed a second time, by upb in C, into
`LeanRequest`: a wire-compatible view of the OTLP messages that keeps only what extraction reads and declares
`Span.attributes` (field 9) as `repeated bytes`, so each attribute is one `bytes` object. `EncodedReader` then
gives exactly what `values.read` gives for the decoded attributes: the key is sliced from the bytes, attributes
whose key extraction does not read are skipped without decoding, and a wanted attribute is decoded once per
distinct encoding (`KeyValue.FromString`) and remembered — the same model, provider, operation, finish reason or
token count recurs on most spans; a new int or double (a token count, a cost) is read from its bytes directly.
Anything not in the simple shape (key first, then one value) is decoded in full, so the result never depends on
how a sender laid the fields out.

The C reader (`_read_spans.c`) does all of this for a request in the canonical shape, without a Python object
per attribute, and leaves to the Python reader what it does not handle (a span's attributes, or the whole request).
tests/collector/extract/test_read_spans_in_c.py holds the two to the same results.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator, Mapping, Sequence
from types import ModuleType
from typing import Any, Final

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1 import trace_pb2

from . import conventions as names
from .attributes import DEFAULT, AttributeSelection
from .conventions import CUSTOM_PREFIX, READ
from .values import Found, read, text

# Declared, since it is None without the C reader; _read_spans.pyi lets mypy resolve the import of the extension.
_read_spans: ModuleType | None
try:
    from . import _read_spans  # built when the install had a C compiler
except ImportError:
    _read_spans = None

NATIVE: Final = _read_spans is not None  # whether the C reader was built
# The type of the spans the C reader makes (what the C row builder takes); None without it.
ScannedSpan: Final[type | None] = None if _read_spans is None else _read_spans.ScannedSpan
# Per scope: its resource's `resource_dimensions`, its spans, and each span's attributes as read.
Scope = tuple[dict[str, Any], Sequence[Any], Iterable[Found]]

_F = descriptor_pb2.FieldDescriptorProto
_PACKAGE = "llmledger.collector.lean.v1"


def _message_classes() -> dict[str, Any]:
    """Build the lean message types in the default pool (once), next to the real OTLP ones they refer to."""
    pool = descriptor_pool.Default()
    classes = ("LeanRequest", "LeanResourceSpans", "LeanScopeSpans", "LeanSpan")
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
    return {name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{_PACKAGE}.{name}")) for name in classes}


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
        self.encoded_names = {key.encode(): key for key in wanted}  # what the C reader looks keys up in
        self._cache: dict[bytes, tuple[str, Any]] = {}

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
            name = self.encoded_names.get(key)
            if name is None:
                if not key.startswith(_CUSTOM) and _only_value_after(encoded, end, size):
                    return self._remember(encoded, _SKIP)
            else:  # a token count or a cost: new values arrive on most spans, and decoding the message is slow
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


class SpanReader:
    """Reads requests for one `AttributeSelection`, in C or in Python as chosen when it is made.

    `native` is the choice: True reads in C (what the C reader does not handle is read in Python), False only in
    Python (the specification, which the differential tests hold the C reader to). The collector makes one reader
    at start (`Extractor`), so the choice is made once and the attribute memo lasts the collector's life.
    """

    def __init__(self, selection: AttributeSelection = DEFAULT, *, native: bool = NATIVE) -> None:
        if native and _read_spans is None:
            raise ValueError("the C span reader is not built (the install had no C compiler)")
        self.selection = selection
        self.native = native
        # Selections that add no name to `READ` share one memo; any other reads more keys, and needs its own.
        self._attributes = read_encoded if selection.wanted == READ else EncodedReader(selection.wanted)
        self._scan = _read_spans.scan if native and _read_spans is not None else None

    def scopes(self, request: ExportTraceServiceRequest | bytes) -> Iterator[Scope]:
        """(its resource's `resource_dimensions`, its spans, their attributes as read) for every scope of
        `request` (its bytes; a request is serialized first); resource attributes are read once per resource.
        DecodeError for bytes that are not a request."""
        body = request if isinstance(request, bytes) else request.SerializeToString()
        scanned = self._scanned(body) if self._scan is not None else None
        if scanned is not None:
            yield from scanned
            return
        yield from self._read(body)

    def marked(self, request: ExportTraceServiceRequest | bytes, markers: frozenset[str]) -> tuple[int, list[Scope]]:
        """The number of spans of `request`, and its `scopes` with only the spans whose attributes as read hold one
        of `markers` (names of `selection.wanted`). A span none of whose attribute keys is a marker is left out
        unread (`_may_hold`): the C reader makes nothing of it, so a request of ordinary spans (HTTP, database…)
        costs no Python per span."""
        body = request if isinstance(request, bytes) else request.SerializeToString()
        if self._scan is not None:
            scanned = self._scan(body, self._attributes.encoded_names, _CUSTOM, markers)
            if scanned is not None:
                serialized, scopes_read, count = scanned
                kept = self._scopes_of(serialized, scopes_read)
                if kept is not None:
                    return count, [_holding(scope, markers) for scope in kept]
        marker_keys = {key for key, name in self._attributes.encoded_names.items() if name in markers}
        reader, selection = self._attributes, self.selection
        count, kept = 0, []
        for resource_spans in LeanRequest.FromString(body).resource_spans:
            resource = _resource(resource_spans.resource, selection)
            for scope_spans in resource_spans.scope_spans:
                count += len(scope_spans.spans)
                spans = [span for span in scope_spans.spans if _may_hold(span.attributes, marker_keys)]
                kept.append(_holding((resource, spans, [reader(span.attributes) for span in spans]), markers))
        return count, kept

    def _read(self, body: bytes) -> Iterator[Scope]:
        """`scopes` by the Python reader."""
        reader, selection = self._attributes, self.selection
        for resource_spans in LeanRequest.FromString(body).resource_spans:
            resource = _resource(resource_spans.resource, selection)
            for scope_spans in resource_spans.scope_spans:
                spans = scope_spans.spans
                yield resource, spans, map(reader, [span.attributes for span in spans])

    def _scanned(self, body: bytes) -> list[Scope] | None:
        """`scopes` of a request the C reader read; None when it did not (a request in another shape) or a resource
        does not decode: the Python reader then reads the request, and raises what it raises."""
        assert self._scan is not None
        scanned = self._scan(body, self._attributes.encoded_names, _CUSTOM)
        if scanned is None:
            return None
        return self._scopes_of(*scanned)

    def _scopes_of(
        self, serialized: list[bytes], scopes_read: list[tuple[int, list[Any], list[Any]]]
    ) -> list[Scope] | None:
        """The scopes of what the C reader read: resources decoded, the spans it left to Python read; None when a
        resource does not decode."""
        reader = self._attributes
        try:
            resources = [_resource(Resource.FromString(resource), self.selection) for resource in serialized]
        except DecodeError:
            return None
        return [
            (
                resources[index],
                spans,
                [
                    reader(span.attributes) if found is None else found
                    for span, found in zip(spans, founds, strict=True)
                ],
            )
            for index, spans, founds in scopes_read
        ]


def _may_hold(attributes: Sequence[bytes], marker_keys: set[bytes]) -> bool:
    """Whether serialized attributes may hold a marker, from their keys alone: one is a marker's key, or is in a
    shape other than key-then-value (which only decoding can tell). What the C reader decides before making
    anything of a span; a span left out is never decoded."""
    for encoded in attributes:
        size = len(encoded)
        if size < 2 or encoded[0] != 0x0A or encoded[1] >= 0x80 or 2 + encoded[1] > size:
            return True
        end = 2 + encoded[1]
        if not _only_value_after(encoded, end, size) or encoded[2:end] in marker_keys:
            return True
    return False


def _holding(scope: Scope, markers: frozenset[str]) -> Scope:
    """`scope` with only the spans whose attributes hold one of `markers`."""
    resource, spans, founds = scope
    kept = [(span, found) for span, found in zip(spans, founds, strict=True) if not markers.isdisjoint(found)]
    return resource, [span for span, _ in kept], [found for _, found in kept]


_DIMENSIONS = (
    ("tenant", names.TENANT),
    ("service_name", (names.SERVICE,)),
    ("environment", names.ENVIRONMENT),
    ("feature", names.FEATURE),
    ("user_id", names.USER),
    ("session_id", names.SESSION),
)


def resource_dimensions(attributes: Mapping[str, Any], selection: AttributeSelection = DEFAULT) -> dict[str, Any]:
    """The ownership dimensions and custom attributes a resource gives every span under it (read once per
    resource); the custom ones under the key "attributes"."""
    dimensions: dict[str, Any] = {field: text(attributes, keys) for field, keys in _DIMENSIONS}
    dimensions["attributes"] = selection.of_resource(attributes)
    return dimensions


def _resource(resource: Resource, selection: AttributeSelection) -> dict[str, Any]:
    return resource_dimensions(read(resource.attributes, selection.wanted), selection)
