# SPDX-License-Identifier: Apache-2.0
"""OTLP/JSON parsing: hex ids, lowerCamelCase, int64 as strings, enums as numbers; clear errors otherwise."""

from __future__ import annotations

import json

import pytest

from llmledger.collector.otlp.jsonformat import InvalidOtlpJson, parse

TRACE_ID = "5b8efff798038103d269b633813fc60c"
SPAN_ID = "eee19b7ec3c1b174"


def _document(**span_overrides: object) -> dict:
    span = {
        "traceId": TRACE_ID,
        "spanId": SPAN_ID,
        "parentSpanId": "eee19b7ec3c1b173",
        "name": "chat gpt-4o",
        "kind": 3,
        "startTimeUnixNano": "1544712660000000000",
        "endTimeUnixNano": "1544712661000000000",
        "attributes": [
            {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "1000"}},
            {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o"}},
        ],
        "links": [{"traceId": TRACE_ID, "spanId": SPAN_ID}],
        "status": {"code": 2, "message": "boom"},
        "someFutureField": True,
        **span_overrides,
    }
    return {"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{"scope": {}, "spans": [span]}]}]}


def test_parses_hex_ids_string_int64s_and_numeric_enums():
    request = parse(json.dumps(_document()).encode())
    span = request.resource_spans[0].scope_spans[0].spans[0]
    assert span.trace_id.hex() == TRACE_ID
    assert span.span_id.hex() == SPAN_ID
    assert span.parent_span_id.hex() == "eee19b7ec3c1b173"
    assert span.links[0].trace_id.hex() == TRACE_ID
    assert span.start_time_unix_nano == 1544712660000000000
    assert span.kind == 3
    assert span.status.code == 2
    assert span.attributes[0].value.int_value == 1000


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "invalid JSON"),
        (b"[1, 2]", "JSON object"),
        (json.dumps(_document(traceId="zz")).encode(), "traceId 'zz' is not hex"),
        (json.dumps(_document(startTimeUnixNano="soon")).encode(), "invalid OTLP/JSON"),
    ],
)
def test_bad_documents_say_what_is_wrong(body, message):
    with pytest.raises(InvalidOtlpJson, match=message):
        parse(body)
