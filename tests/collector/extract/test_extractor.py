# SPDX-License-Identifier: Apache-2.0
"""The extractor reads only the spans that may be LLM calls: `CALL_MARKERS` holds every attribute without which
`is_llm_call` is False, and `SpanReader.marked` leaves out the spans holding none, in C exactly as in Python (the
same span count, the same spans kept and read alike, or the same error), so leaving them out changes no row."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf.message import DecodeError
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from llmledger.collector.extract import Extractor, read_spans
from llmledger.collector.extract import build_rows as build_rows_module
from llmledger.collector.extract import conventions as names
from llmledger.collector.extract.build_calls import is_llm_call
from llmledger.collector.extract.extractor import CALL_MARKERS, NATIVE
from llmledger.collector.extract.read_spans import SpanReader
from tests.collector.extract.test_read_spans_in_c import _comparable, _fields, _requests

_VALUES = st.one_of(
    st.sampled_from(["chat", "LLM", "llm", "EMBEDDING", "agent", "invoke_agent", "gpt-4o", "openai", "", "x"]),
    st.integers(0, 10**6),
    st.floats(0, 10, allow_nan=False),
    st.booleans(),
)


@settings(max_examples=800, deadline=None)
@given(found=st.dictionaries(st.sampled_from(sorted(names.READ)), _VALUES, max_size=12))
def test_no_span_without_a_marker_is_an_llm_call(found):
    if CALL_MARKERS.isdisjoint(found):
        assert not is_llm_call(found)


def _marked(body: bytes, in_c: bool) -> Any:
    try:
        count, scopes = SpanReader(native=in_c).marked(body, CALL_MARKERS)
    except DecodeError:
        return DecodeError
    return count, [
        (resource, [_fields(span) for span in spans], [_comparable(found) for found in founds])
        for resource, spans, founds in scopes
    ]


@pytest.mark.skipif(not read_spans.NATIVE, reason="the C reader is not built (no C compiler at install)")
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=_requests())
def test_spans_are_left_out_in_c_as_in_python(body):
    assert _marked(body, in_c=True) == _marked(body, in_c=False)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(body=_requests())
def test_leaving_spans_out_changes_no_row(body):
    """Of every request a receiver takes (one that decodes: a span left out is never decoded, so its bad UTF-8
    would go unseen here), in Python and in C."""
    try:
        ExportTraceServiceRequest.FromString(body)
    except DecodeError:
        assume(False)
    every_span = build_rows_module.build_rows(SpanReader(native=False).scopes(body))
    for native in (False, True) if NATIVE else (False,):
        extracted = Extractor(native=native).columns(body)
        assert (extracted.spans, extracted.columns, extracted.rejected) == (
            every_span.spans,
            every_span.columns,
            every_span.rejected,
        )
