# SPDX-License-Identifier: Apache-2.0
"""The C span reader (`_read_spans.c`) reads every request exactly as the Python reader does: the same resources, span
fields and attributes, or the same error; whatever it does not handle itself it leaves to the Python reader.

Requests are generated with every kind of attribute value and layout a sender may write (well-formed and not),
then damaged: cut short, a byte changed, fields repeated.
"""

from __future__ import annotations

import math
import struct
from typing import Any

import pytest
from google.protobuf.message import DecodeError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from llmledger.collector.extract import conventions as names
from llmledger.collector.extract import read_spans
from llmledger.collector.extract.attributes import DEFAULT, AttributeSelection
from llmledger.collector.extract.read_spans import SpanReader
from tests.collector.wire_format import field as _field
from tests.collector.wire_format import varint as _varint

pytestmark = pytest.mark.skipif(not read_spans.NATIVE, reason="the C reader is not built (no C compiler at install)")


def _scan(body: bytes) -> Any:
    """What the C reader itself gives for `body` (None: a request it leaves to the Python reader)."""
    assert read_spans._read_spans is not None
    return read_spans._read_spans.scan(body, read_spans.read_encoded.encoded_names, names.CUSTOM_PREFIX.encode())


def _read(body: bytes, selection: AttributeSelection, in_c: bool) -> Any:
    """What the reader gives, made comparable (NaN equal to NaN, -0.0 apart from 0.0), or the error's type."""
    try:
        return [
            (
                resource,
                [_fields(span) for span in spans],
                [_comparable(found) for found in founds],
            )
            for resource, spans, founds in SpanReader(selection, native=in_c).scopes(body)
        ]
    except DecodeError:
        return DecodeError


def _fields(span: Any) -> tuple[Any, ...]:
    return (
        span.trace_id,
        span.span_id,
        span.parent_span_id,
        span.name,
        span.start_time_unix_nano,
        span.end_time_unix_nano,
        span.status.code,
    )


def _comparable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _comparable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_comparable(item) for item in value]
    if isinstance(value, float):
        return ("float", struct.pack("<d", value) if not math.isnan(value) else "nan")
    return (type(value).__name__, value)


def _assert_read_alike(body: bytes, selection: AttributeSelection = DEFAULT) -> Any:
    in_c = _read(body, selection, True)
    assert in_c == _read(body, selection, False)
    return in_c


def test_the_benchmark_workload_is_read_in_c_as_in_python():
    from benchmarks.collector_ingest import build_requests

    for reported_costs in (False, True):
        for body in build_requests(1024, reported_costs=reported_costs):
            assert _scan(body) is not None  # read in C, no span left to Python
            assert all(f is not None for _, _, founds in _scan(body)[1] for f in founds)
            _assert_read_alike(body)


def test_a_request_in_another_shape_is_left_to_the_python_reader():
    span = Span(trace_id=bytes(16), span_id=bytes(8), name="chat").SerializeToString()
    renamed = span + _field(5, b"again")  # a field written twice: protobuf keeps the later one
    body = _field(1, _field(2, _field(2, renamed)))
    assert _scan(body) is None
    ((_, (fields,), _),) = _assert_read_alike(body)
    assert fields[3] == "again"  # the span's name, as protobuf reads it
    assert _scan(body[:-2]) is None  # cut short
    assert _scan(b"") == ([], [])


def test_a_span_whose_attributes_are_unusual_is_left_to_the_python_reader():
    nested = KeyValue(key="gen_ai.request.model", value=AnyValue(kvlist_value=KeyValueList(values=[KeyValue(key="a")])))
    plain = KeyValue(key="gen_ai.request.model", value=AnyValue(string_value="gpt-4o"))
    body = _request([[plain], [nested, plain]])
    _, scopes_read = _scan(body)
    ((_, spans, founds),) = scopes_read
    assert founds[0] == {"gen_ai.request.model": "gpt-4o"} and spans[0].attributes is None
    assert founds[1] is None and spans[1].attributes == [nested.SerializeToString(), plain.SerializeToString()]
    _assert_read_alike(body)


_MODEL_KEY = KeyValue(key="gen_ai.request.model").SerializeToString()
_UNUSUAL = {
    "a bool written as 2": [_MODEL_KEY + b"\x12\x02\x10\x02"],
    "a bool written as 2**64 - 1": [_MODEL_KEY + b"\x12\x0b\x10" + b"\xff" * 9 + b"\x01"],
    "a negative int": [KeyValue(key="gen_ai.usage.input_tokens", value=AnyValue(int_value=-5)).SerializeToString()],
    "a NaN": [KeyValue(key="gen_ai.usage.cost", value=AnyValue(double_value=math.nan)).SerializeToString()],
    "an empty value after a set one": [
        KeyValue(key="gen_ai.request.model", value=AnyValue(string_value="gpt-4o")).SerializeToString(),
        _MODEL_KEY + b"\x12\x00",
        _MODEL_KEY,
    ],
    "an array with an empty item": [
        KeyValue(
            key="gen_ai.response.finish_reasons",
            value=AnyValue(array_value=ArrayValue(values=[AnyValue(), AnyValue(bool_value=True)])),
        ).SerializeToString()
    ],
    "an unread key not in UTF-8": [b"\x0a\x02x\xff\x12\x02\x08\x01"],
    "an unread key not in UTF-8, its value's tag in two bytes": [b"\x0a\x02x\xff\x92\x00\x02\x08\x01"],
    "a custom key not in UTF-8": [b"\x0a\x12llmledger.custom.\xff\x12\x03\x0a\x01a"],
    "an unread key of 130 bytes": [KeyValue(key="k" * 130, value=AnyValue(int_value=1)).SerializeToString()],
    "a wanted key then an unread one in one KeyValue": [_MODEL_KEY + b"\x0a\x01x"],
}


@pytest.mark.parametrize("case", list(_UNUSUAL))
def test_unusual_encodings_are_read_in_c_as_in_python(case):
    plain = KeyValue(key="gen_ai.operation.name", value=AnyValue(string_value="chat")).SerializeToString()
    for attributes in (_UNUSUAL[case], [plain, *_UNUSUAL[case], plain]):
        span = b"".join(b"\x4a" + _varint(len(attribute)) + attribute for attribute in attributes)
        _assert_read_alike(_field(1, _field(2, _field(2, span))))


@pytest.mark.parametrize("code", [2**31, 2**32 + 1, 2**64 - 1])
def test_a_status_code_beyond_int32_is_read_in_c_as_in_python(code):
    span = _field(15, b"\x18" + _varint(code))
    _assert_read_alike(_field(1, _field(2, _field(2, span))))


def _request(attribute_lists: list[list[KeyValue]]) -> bytes:
    spans = [Span(trace_id=bytes(16), span_id=bytes(8), name="s", attributes=kvs) for kvs in attribute_lists]
    return ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=spans)])]
    ).SerializeToString()


# Generated requests. Values of every kind, as senders write them; layouts other than key-then-value; damage.
_KEYS = [
    *sorted(names.READ)[:40],
    "gen_ai.usage.input_tokens",
    "gen_ai.response.finish_reasons",
    "llmledger.custom.plan",
    "llmledger.custom.",
    "server.address",
    "gen_ai.response.id",
    "k" * 130,
    "",
]
_scalars = st.one_of(
    st.builds(AnyValue, string_value=st.text(max_size=12)),
    st.builds(AnyValue, bool_value=st.booleans()),
    st.builds(AnyValue, int_value=st.integers(-(2**63), 2**63 - 1)),
    st.builds(AnyValue, double_value=st.floats(allow_nan=True, allow_infinity=True)),
    st.builds(AnyValue, bytes_value=st.binary(max_size=4)),
    st.just(AnyValue()),
)
_values = st.one_of(
    _scalars,
    st.builds(lambda items: AnyValue(array_value=ArrayValue(values=items)), st.lists(_scalars, max_size=3)),
    st.builds(
        lambda items: AnyValue(array_value=ArrayValue(values=[AnyValue(array_value=ArrayValue(values=items))])),
        st.lists(_scalars, max_size=2),
    ),
    st.builds(lambda v: AnyValue(kvlist_value=KeyValueList(values=[KeyValue(key="a", value=v)])), _scalars),
)


_common = st.one_of(  # what SDKs send: scalars and arrays of them, key then value
    _scalars.filter(lambda value: value.WhichOneof("value") != "bytes_value"),
    st.builds(lambda items: AnyValue(array_value=ArrayValue(values=items)), st.lists(_scalars, max_size=3)),
)


@st.composite
def _attribute(draw: st.DrawFn, common: bool) -> bytes:
    key = draw(st.one_of(st.sampled_from(_KEYS), st.sampled_from(["gen_ai.request.model", "llmledger.custom.a"])))
    encoded = KeyValue(key=key, value=draw(_common if common else _values)).SerializeToString()
    layout = 9 if common else draw(st.integers(0, 9))
    if layout == 0:  # value first, then the key
        encoded = (
            KeyValue(value=KeyValue.FromString(encoded).value).SerializeToString()
            + KeyValue(key=key).SerializeToString()
        )
    elif layout == 1:  # a second key or value after the first
        encoded += KeyValue(key=draw(st.sampled_from(_KEYS)), value=draw(_values)).SerializeToString()[
            : draw(st.integers(0, 60))
        ]
    elif layout == 2 and encoded.find(b"\x12", 2) > 0:  # the value's tag written in two bytes (0x92 0x00)
        at = 2 + encoded[1] if encoded[:1] == b"\x0a" and encoded[1] < 0x80 else -1
        if 0 <= at < len(encoded) and encoded[at] == 0x12:
            encoded = encoded[:at] + b"\x92\x00" + encoded[at + 1 :]
    elif layout == 3:  # a string value not in UTF-8
        encoded = KeyValue(key=key).SerializeToString() + _field(2, _field(1, b"ok\xff"))
    elif layout == 4:  # a key not in UTF-8, its value's tag in one byte or two
        value = KeyValue.FromString(encoded).value.SerializeToString()
        encoded = _field(1, b"gen_ai.x\xff") + draw(st.sampled_from([b"\x12", b"\x92\x00"])) + _varint(len(value))
        encoded += value
    elif layout == 5:  # a bool written as a varint other than 0 or 1
        encoded = KeyValue(key=key).SerializeToString() + _field(2, b"\x10" + _varint(draw(st.integers(0, 2**64 - 1))))
    return encoded


@st.composite
def _span(draw: st.DrawFn) -> bytes:
    span = Span(
        trace_id=draw(st.binary(max_size=17)),
        span_id=draw(st.binary(max_size=9)),
        parent_span_id=draw(st.binary(max_size=9)),
        name=draw(st.text(max_size=8)),
        start_time_unix_nano=draw(st.integers(0, 2**64 - 1)),
        end_time_unix_nano=draw(st.integers(0, 2**64 - 1)),
        kind=draw(st.integers(0, 5)),
    )
    if draw(st.booleans()):
        span.status.CopyFrom(Status(code=draw(st.sampled_from([0, 1, 2, 7, -1])), message=draw(st.text(max_size=5))))
    encoded = span.SerializeToString()
    if draw(st.integers(0, 5)) == 0:  # a status code beyond int32, as a sender may write it: protobuf keeps 32 bits
        encoded += _field(15, b"\x18" + _varint(draw(st.integers(2**31, 2**64 - 1))))
    for attribute in draw(st.lists(_attribute(common=draw(st.booleans())), max_size=8)):
        encoded += b"\x4a" + _varint(len(attribute)) + attribute  # field 9, as any sender may put it
    return encoded


@st.composite
def _requests(draw: st.DrawFn) -> bytes:
    body = b""
    for _ in range(draw(st.integers(0, 3))):
        resource_spans = b""
        if draw(st.booleans()):
            resource = Resource(
                attributes=[
                    KeyValue(key=draw(st.sampled_from([*_KEYS, "service.name", "deployment.environment"])), value=v)
                    for v in draw(st.lists(_values, max_size=3))
                ]
            )
            resource_spans += _field(1, resource.SerializeToString())
        for _ in range(draw(st.integers(0, 2))):
            scope = _field(1, b"\x0a\x03lib") if draw(st.booleans()) else b""
            scope += b"".join(_field(2, span) for span in draw(st.lists(_span(), max_size=3)))
            resource_spans += _field(2, scope)
        body += _field(1, resource_spans)
    damage = draw(st.integers(0, 7))
    if damage == 0 and body:  # cut short
        body = body[: draw(st.integers(0, len(body) - 1))]
    elif damage == 1 and body:  # one byte changed
        at = draw(st.integers(0, len(body) - 1))
        body = body[:at] + bytes([draw(st.integers(0, 255))]) + body[at + 1 :]
    elif damage == 2:  # an unknown field, or a field the reader does not read, at the top
        body += _field(draw(st.integers(2, 20)), draw(st.binary(max_size=6)))
    return body


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=_requests())
def test_generated_requests_are_read_in_c_as_in_python(body):
    _assert_read_alike(body)
    _assert_read_alike(body, AttributeSelection.of(["server.address", "team"]))
