# SPDX-License-Identifier: Apache-2.0
"""An OTLP trace export as the receivers hand it to the pipeline: its bytes, checked, and its span count.

A receiver must refuse a request that is not a well-formed `ExportTraceServiceRequest`, and used to find out by
parsing it with upb, only to throw the message away: the pipeline reads spans from the bytes (`_read_spans.c`) and
forwards the bytes as they came. `TraceExport.from_protobuf` checks the bytes instead, in C (`_wire.c`), against a
table made here from the installed protobuf descriptors, without building a message; it parses with upb only what
that check is not sure of, so a malformed request is refused with upb's own `DecodeError`, as before. The parsed
message is still there for what needs one (raw span rows, a request that came as JSON), made on first use.

    export = TraceExport.from_protobuf(body)     # DecodeError when upb would raise one
    export.body, export.spans                    # the bytes to queue and forward; how many spans they hold
    export.may_hold_calls                        # False: no attribute key starts with one of CALL_KEY_PREFIXES
    export.message                               # the ExportTraceServiceRequest, parsed on first use
    TraceExport.from_message(request)            # an export made from a parsed (e.g. OTLP/JSON) request

Most of an app's requests hold no LLM call, and the check tells them apart on the way: whether any attribute key
starts with a prefix of the keys that mark a call (`extract.CALL_MARKERS`: GenAI, OpenLLMetry and OpenInference
names), so such a request is passed on without being read again.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any, Final

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ScopeSpans

# Declared, since it is None without the C check; _wire.pyi lets mypy resolve the import of the extension.
_wire: ModuleType | None
try:
    from . import _wire  # built when the install had a C compiler
except ImportError:
    _wire = None

NATIVE: Final = _wire is not None  # whether the C check was built
# Every attribute key that marks an LLM call starts with one of these (tests/collector/otlp/test_wire.py).
CALL_KEY_PREFIXES: Final = (b"gen_ai.", b"llm.", b"openinference.span.kind")

# What `_wire.c` calls each kind of field.
_UNKNOWN, _MESSAGE, _STRING, _BYTES, _VARINT, _FIXED64, _FIXED32 = range(7)
_T = FieldDescriptor
_KINDS = {
    _T.TYPE_MESSAGE: _MESSAGE,
    _T.TYPE_STRING: _STRING,
    _T.TYPE_BYTES: _BYTES,
    **dict.fromkeys(
        (_T.TYPE_INT32, _T.TYPE_INT64, _T.TYPE_UINT32, _T.TYPE_UINT64, _T.TYPE_SINT32, _T.TYPE_SINT64),
        _VARINT,
    ),
    **dict.fromkeys((_T.TYPE_BOOL, _T.TYPE_ENUM), _VARINT),
    **dict.fromkeys((_T.TYPE_FIXED64, _T.TYPE_SFIXED64, _T.TYPE_DOUBLE), _FIXED64),
    **dict.fromkeys((_T.TYPE_FIXED32, _T.TYPE_SFIXED32, _T.TYPE_FLOAT), _FIXED32),
}


def schema_types(root: Descriptor) -> tuple[list[Descriptor], tuple[tuple[tuple[int, int, int], ...], ...]]:
    """The message types reachable from `root` (root first), and per type its fields as `_wire.schema` takes
    them: (number, kind, index of the field's message type or -1). A field of a kind the check does not read (a
    group) is declared of unknown kind: its wire type then makes the check answer "not sure"."""
    order: list[Descriptor] = [root]
    index = {root.full_name: 0}
    for descriptor in order:  # grows while it is walked: breadth first
        for field in descriptor.fields:
            if field.message_type is not None and field.message_type.full_name not in index:
                index[field.message_type.full_name] = len(order)
                order.append(field.message_type)
    types = tuple(
        tuple(
            (
                field.number,
                _KINDS.get(field.type, _UNKNOWN),
                index[field.message_type.full_name] if field.message_type is not None else -1,
            )
            for field in descriptor.fields
        )
        for descriptor in order
    )
    return order, types


def _trace_schema() -> Any:
    if _wire is None:
        return None
    order, types = schema_types(ExportTraceServiceRequest.DESCRIPTOR)
    spans = (order.index(ScopeSpans.DESCRIPTOR), ScopeSpans.DESCRIPTOR.fields_by_name["spans"].number)
    keys = (order.index(KeyValue.DESCRIPTOR), KeyValue.DESCRIPTOR.fields_by_name["key"].number)
    return _wire.schema(types, *spans, *keys, CALL_KEY_PREFIXES)


_TRACE_SCHEMA: Final = _trace_schema()


class TraceExport:
    """One trace export: its protobuf bytes (None if it came parsed and was never serialized), its span count,
    whether it may hold an LLM call (True unless the check found no key that marks one), and the parsed message,
    made on first use."""

    __slots__ = ("_message", "body", "may_hold_calls", "spans")

    def __init__(
        self,
        body: bytes | None,
        spans: int,
        message: ExportTraceServiceRequest | None = None,
        *,
        may_hold_calls: bool = True,
    ) -> None:
        assert body is not None or message is not None
        self.body = body  # the bytes as they came, when they came as protobuf
        self._message = message
        self.spans = spans
        self.may_hold_calls = may_hold_calls

    @classmethod
    def from_protobuf(cls, body: bytes, *, native: bool = NATIVE) -> TraceExport:
        """`body` checked to be a serialized ExportTraceServiceRequest; raises DecodeError when upb would."""
        checked = _wire.check(body, _TRACE_SCHEMA) if native and _wire is not None else None
        if checked is not None:
            return cls(body, checked[0], may_hold_calls=checked[1])
        return cls.from_message(ExportTraceServiceRequest.FromString(body), body)

    @classmethod
    def from_message(cls, message: ExportTraceServiceRequest, body: bytes | None = None) -> TraceExport:
        """An export of a parsed request; `body`: its protobuf bytes, when the caller has them (bytes without any
        of the prefixes anywhere hold no call)."""
        spans = sum(len(scope.spans) for resource in message.resource_spans for scope in resource.scope_spans)
        may_hold_calls = body is None or any(prefix in body for prefix in CALL_KEY_PREFIXES)
        return cls(body, spans, message, may_hold_calls=may_hold_calls)

    @property
    def message(self) -> ExportTraceServiceRequest:
        if self._message is None:
            assert self.body is not None
            self._message = ExportTraceServiceRequest.FromString(self.body)
        return self._message
