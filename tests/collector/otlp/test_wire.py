# SPDX-License-Identifier: Apache-2.0
"""A trace export is checked without being parsed, and accepted or refused exactly as upb would: the C check
(`_wire.c`) answers "well-formed" only for what upb parses, with the same span count, and leaves the rest to upb,
whose DecodeError the receivers turn into a refusal.

Requests are generated with every kind of field and value, then damaged: cut short, a byte changed, a byte
inserted, a field of another wire type or an unknown one added.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from google.protobuf.message import DecodeError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import (
    AnyValue,
    ArrayValue,
    InstrumentationScope,
    KeyValue,
    KeyValueList,
)
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from llmledger.collector.extract.extractor import CALL_MARKERS
from llmledger.collector.otlp import wire
from llmledger.collector.otlp.wire import TraceExport
from tests.collector.wire_format import field, varint

pytestmark = pytest.mark.skipif(not wire.NATIVE, reason="the C check is not built (no C compiler at install)")


def _checked(body: bytes) -> int | None:
    """What the C check itself says: the span count, or None where it leaves the verdict to upb."""
    assert wire._wire is not None
    checked = wire._wire.check(body, wire._TRACE_SCHEMA)
    return None if checked is None else checked[0]


def _marked(body: bytes) -> bool:
    """Whether the C check found an attribute key that may mark an LLM call."""
    assert wire._wire is not None
    checked = wire._wire.check(body, wire._TRACE_SCHEMA)
    assert checked is not None
    return checked[1]


def _upb(body: bytes) -> int | type[DecodeError]:
    """upb's verdict: the span count, or DecodeError."""
    try:
        message = ExportTraceServiceRequest.FromString(body)
    except DecodeError:
        return DecodeError
    return sum(len(scope.spans) for resource in message.resource_spans for scope in resource.scope_spans)


def _export(body: bytes) -> int | type[DecodeError]:
    """What the receivers get: the export's span count, or DecodeError."""
    try:
        return TraceExport.from_protobuf(body).spans
    except DecodeError:
        return DecodeError


def _assert_same_verdict(body: bytes) -> int | None:
    checked, upb = _checked(body), _upb(body)
    if checked is not None:
        assert checked == upb  # "well-formed" only when upb parses it, with the same count
    assert _export(body) == upb
    return checked


def test_what_apps_send_is_checked_without_being_parsed():
    from benchmarks.collector_ingest import build_requests as llm_requests
    from benchmarks.mixed_traffic import build_requests as mixed_requests

    for body in [*mixed_requests(1000), *llm_requests(256), *llm_requests(256, reported_costs=True)]:
        assert _assert_same_verdict(body) is not None
        export = TraceExport.from_protobuf(body)
        assert export._message is None  # nothing parsed…
        assert export.message == ExportTraceServiceRequest.FromString(body)  # …until something asks for it
        assert export.body is body and export.may_hold_calls


def test_a_request_whose_attribute_keys_mark_no_call_is_told_apart_on_the_way():
    ordinary = Span(name="GET /", attributes=[KeyValue(key="http.route", value=AnyValue(string_value="gen_ai."))])
    assert not TraceExport.from_protobuf(_request([ordinary])).may_hold_calls  # a value is not a key
    for key in sorted(CALL_MARKERS):
        marked = Span(attributes=[KeyValue(key="http.route"), KeyValue(key=key, value=AnyValue(int_value=1))])
        assert TraceExport.from_protobuf(_request([ordinary, marked])).may_hold_calls, key
    resource = ResourceSpans(resource=Resource(attributes=[KeyValue(key="gen_ai.system")]))
    assert _marked(ExportTraceServiceRequest(resource_spans=[resource]).SerializeToString())  # any key: a superset


def test_every_key_that_marks_a_call_starts_with_a_prefix_the_check_looks_for():
    assert all(key.encode().startswith(wire.CALL_KEY_PREFIXES) for key in CALL_MARKERS)


def test_a_string_not_in_utf8_is_refused_as_upb_refuses_it():
    for bad in (b"\xff", b"\xc3\x28", b"\xe0\x80\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"ab\xc3"):
        key = b"\x0a" + bytes([len(bad)]) + bad
        body = _nest(key, _ATTRIBUTE)
        assert _checked(body) is None
        assert _export(body) is DecodeError
        with pytest.raises(DecodeError, match="UTF-8"):
            TraceExport.from_protobuf(body)
    for good in ("é", "€", "𝄞", "\U0010ffff", "\ud7ff", "x" * 40 + "é"):
        encoded = good.encode()
        body = _nest(b"\x0a" + bytes([len(encoded)]) + encoded, _ATTRIBUTE)
        assert _assert_same_verdict(body) == 1


def test_legal_but_unusual_encodings_are_left_to_upb_and_accepted():
    span = Span(name="s").SerializeToString()
    unusual = {
        "a known field in another wire type": span + b"\x28\x05",  # name (5, a string) written as a varint
        "an unknown field": span + b"\xa0\x06\x01",
        "a group": span + b"\xa3\x06\x08\x01\xa4\x06",
        "a varint of more than 64 bits": span + b"\x08" + b"\xff" * 9 + b"\x7f",
    }
    for case, encoded in unusual.items():
        body = _nest(encoded, _SPAN)
        assert _upb(body) == 1, case
        assert _export(body) == 1, case
    assert _checked(_nest(span + b"\xa0\x06\x01", _SPAN)) == 1  # unknown fields are skipped in C


def test_nesting_deeper_than_the_check_goes_is_left_to_upb():
    for depth in (20, 29, 30, 47, 48, 80):
        value = b"\x0a\x01x"  # AnyValue(string_value="x"), in `depth` arrays
        for _ in range(depth):
            value = _nest(value, [5, 1])  # AnyValue.array_value / ArrayValue.values
        body = _nest(b"\x0a\x01k" + _nest(value, [2]), _ATTRIBUTE)
        _assert_same_verdict(body)
        # 64 levels of messages in C (2 a nesting, 5 around them); upb's limit is 100
        assert (_checked(body) is None) == (depth >= 30)
        assert (_upb(body) is DecodeError) == (depth >= 48)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_generated_requests_and_their_damage_get_upbs_verdict(data):
    body = data.draw(_requests)
    assert _assert_same_verdict(body) is not None
    rng = random.Random(data.draw(st.integers(0, 2**32)))
    for _ in range(30):
        _assert_same_verdict(_damaged(body, rng))


def test_random_bytes_get_upbs_verdict():
    rng = random.Random(3)
    for size in range(0, 64):
        for _ in range(40):
            _assert_same_verdict(rng.randbytes(size))


def test_a_schema_is_made_of_the_installed_descriptors():
    order, types = wire.schema_types(ExportTraceServiceRequest.DESCRIPTOR)
    names = [descriptor.full_name for descriptor in order]
    assert names[0] == "opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest"
    assert "opentelemetry.proto.common.v1.AnyValue" in names and len(names) == len(set(names))
    span = types[names.index("opentelemetry.proto.trace.v1.Span")]
    assert (1, 3, -1) in span  # trace_id: bytes
    assert (5, 2, -1) in span  # name: a string, checked for UTF-8
    assert (7, 5, -1) in span  # start_time_unix_nano: fixed64
    assert (16, 6, -1) in span  # flags: fixed32


# -- making requests ------------------------------------------------------------------------------------------------
def _nest(inner: bytes, path: list[int]) -> bytes:
    """`inner` as the innermost length-delimited field of `path` (field numbers, outermost first)."""
    for number in reversed(path):
        inner = field(number, inner)
    return inner


_SPAN = [1, 2, 2]  # resource_spans / scope_spans / spans
_ATTRIBUTE = [*_SPAN, 9]  # … / attributes


def _request(spans: list[Span]) -> bytes:
    return ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=spans)])]
    ).SerializeToString()


_text = st.text(max_size=8)
_scalars = st.one_of(
    st.builds(AnyValue, string_value=_text),
    st.builds(AnyValue, bool_value=st.booleans()),
    st.builds(AnyValue, int_value=st.integers(-(2**63), 2**63 - 1)),
    st.builds(AnyValue, double_value=st.floats()),
    st.builds(AnyValue, bytes_value=st.binary(max_size=4)),
    st.just(AnyValue()),
)
_values = st.one_of(
    _scalars,
    st.builds(lambda items: AnyValue(array_value=ArrayValue(values=items)), st.lists(_scalars, max_size=3)),
    st.builds(lambda v: AnyValue(kvlist_value=KeyValueList(values=[KeyValue(key="a", value=v)])), _scalars),
)
_attributes = st.lists(st.builds(KeyValue, key=_text, value=_values), max_size=4)
_spans = st.builds(
    Span,
    trace_id=st.binary(min_size=16, max_size=16),
    span_id=st.binary(min_size=8, max_size=8),
    parent_span_id=st.binary(max_size=8),
    name=_text,
    kind=st.integers(0, 5),
    start_time_unix_nano=st.integers(0, 2**64 - 1),
    end_time_unix_nano=st.integers(0, 2**64 - 1),
    attributes=_attributes,
    dropped_attributes_count=st.integers(0, 2**32 - 1),
    events=st.lists(st.builds(Span.Event, name=_text, attributes=_attributes), max_size=2),
    links=st.lists(st.builds(Span.Link, trace_id=st.binary(max_size=16), trace_state=_text), max_size=2),
    status=st.builds(Status, message=_text, code=st.integers(0, 2)),
    flags=st.integers(0, 2**32 - 1),
)
_requests = st.builds(
    lambda resources: ExportTraceServiceRequest(resource_spans=resources).SerializeToString(),
    st.lists(
        st.builds(
            ResourceSpans,
            resource=st.builds(Resource, attributes=_attributes),
            scope_spans=st.lists(
                st.builds(
                    ScopeSpans,
                    scope=st.builds(InstrumentationScope, name=_text, version=_text),
                    spans=st.lists(_spans, max_size=3),
                    schema_url=_text,
                ),
                max_size=2,
            ),
        ),
        max_size=2,
    ),
)


def _damaged(body: bytes, rng: random.Random) -> bytes:
    damage: Any = rng.choice(("cut", "flip", "insert", "append"))
    if not body or damage == "append":
        return body + rng.choice((b"\x08\x01", b"\x0a\x01\xff", b"\x0b", b"\x0a\x05ab", b"\x00", b"\x07"))
    at = rng.randrange(len(body))
    if damage == "cut":
        return body[:at]
    if damage == "flip":
        return body[:at] + bytes([body[at] ^ (1 << rng.randrange(8))]) + body[at + 1 :]
    return body[:at] + bytes([rng.randrange(256)]) + body[at:]


def test_a_type_with_fields_numbered_beyond_the_table_leaves_high_numbers_to_upb():
    assert wire._wire is not None
    string_300 = wire._wire.schema((((1, 2, -1), (300, 2, -1)),), 0, 1, 0, 1, ())
    bad_utf8_in_300 = varint(300 << 3 | 2) + b"\x01\xff"
    assert wire._wire.check(bad_utf8_in_300, string_300) is None  # not read as an unknown field
    assert wire._wire.check(varint(301 << 3) + b"\x01", string_300) is None
    assert wire._wire.check(b"\x0a\x01a", string_300) == (0, False)
    low_only = wire._wire.schema((((1, 2, -1),),), 0, 1, 0, 1, ())
    assert wire._wire.check(bad_utf8_in_300, low_only) == (0, False)  # an unknown field: skipped, as upb does
