# SPDX-License-Identifier: Apache-2.0
"""Our Native blocks, read back by the real ClickHouse: every edge of every column type `llm_calls` uses comes
back as it went in (empty and long and non-ASCII text, ids of one length and of many, Decimal(18, 12) extremes,
UInt32 bounds, empty and unicode maps), and a value a column cannot take (None, a negative count, a cost past
Decimal(18, 12)) fails the insert before anything is sent, naming the column."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from time import time_ns

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmledger.collector.exporters.clickhouse import native_format
from llmledger.collector.exporters.clickhouse.errors import QueryFailed
from llmledger.collector.exporters.clickhouse.writer import insert_llm_calls
from llmledger.collector.llm_calls import CallColumns, LlmCall


@pytest.fixture(autouse=True)
def empty_tables(client):
    for table in ("llm_calls", "llm_usage_hourly", "llm_usage_daily_user", "llm_trace_costs", "llm_budget_usage"):
        client.command(f"TRUNCATE TABLE {table}")


_MAX = Decimal("999999.999999999999")  # the largest Decimal(18, 12)
_LONG = "é" * 70  # 140 bytes: a two-byte length
_HUGE = "x" * 20_000  # a three-byte length


def _call(span_id: str, trace_id: str = "0af7651916cd43dd8448eb211c80319c", **fields) -> LlmCall:
    return LlmCall(timestamp_ns=time_ns() // 1000 * 1000, trace_id=trace_id, span_id=span_id, **fields)


EDGES = [
    _call("empty"),
    _call("unicode", tenant="ünïcødé 🚀", user_id="用户", session_id=_LONG, span_name=_HUGE, feature="\x00\n\t"),
    _call("maximum", input_tokens=2**32 - 1, output_tokens=0, total_cost=_MAX, input_cost=_MAX, cache_savings=-_MAX),
    _call("tiny", total_cost=Decimal("1e-12"), other_cost=Decimal("-1e-12"), is_streaming=True, usage_complete=False),
    _call("map", attributes={"": "", "ключ": "значение 🚀", "long": _LONG, "k" * 200: "v"}),
    _call("floats", duration_ms=1e-300, time_to_first_chunk_ms=5.12e12),
]


def _stored(client) -> dict[str, tuple]:
    rows = client.query(
        "SELECT SpanId, Tenant, UserId, SessionId, SpanName, Feature, InputTokens, OutputTokens, TotalCost, InputCost,"
        " CacheSavings, OtherCost, IsStreaming, UsageComplete, Attributes, DurationMs, TimeToFirstChunkMs, TraceId"
        " FROM llm_calls"
    ).result_rows
    return {row[0]: row[1:] for row in rows}


def _expected(call: LlmCall) -> tuple:
    return (
        call.tenant,
        call.user_id,
        call.session_id,
        call.span_name,
        call.feature,
        call.input_tokens,
        call.output_tokens,
        call.total_cost,
        call.input_cost,
        call.cache_savings,
        call.other_cost,
        call.is_streaming,
        call.usage_complete,
        call.attributes,
        call.duration_ms,
        call.time_to_first_chunk_ms,
        call.trace_id,
    )


def test_every_edge_value_comes_back_as_it_went_in(client):
    assert insert_llm_calls(client, EDGES) == len(EDGES)
    stored = _stored(client)
    assert stored == {call.span_id: _expected(call) for call in EDGES}


def test_ids_of_different_lengths_and_non_ascii_ids_of_one_length_are_both_encoded_value_by_value(client):
    calls = [_call("a", trace_id="t" * 32), _call("bb", trace_id=""), _call("ccc", trace_id="é" * 32)]
    insert_llm_calls(client, calls)
    assert {span_id: row[-1] for span_id, row in _stored(client).items()} == {"a": "t" * 32, "bb": "", "ccc": "é" * 32}


def test_a_batch_of_columns_inserts_the_same_rows_as_the_calls_it_came_from(client):
    insert_llm_calls(client, CallColumns.of(EDGES)[2:4])
    assert set(_stored(client)) == {"maximum", "tiny"}


@pytest.mark.parametrize(
    ("bad", "column"),
    [
        ({"input_tokens": None}, "InputTokens"),
        ({"output_tokens": 2**32}, "OutputTokens"),
        ({"user_id": b"bytes"}, "UserId"),
        ({"duration_ms": "slow"}, "DurationMs"),
        ({"attributes": {"n": None}}, "Attributes"),
    ],
)
def test_a_value_its_column_cannot_take_fails_before_anything_is_sent(client, bad, column):
    with pytest.raises(QueryFailed, match=f"llm_calls.*{column}"):
        insert_llm_calls(client, [_call("ok"), _call("bad", **bad)])
    assert _stored(client) == {}


def test_a_cost_past_decimal_18_12_is_refused_naming_the_span(client):
    with pytest.raises(ValueError, match=r"total_cost=1000000\.000000000000 of span"):
        insert_llm_calls(client, [replace(EDGES[0], total_cost=_MAX + Decimal("1e-12"))])


@pytest.mark.parametrize("encode", [native_format.strings, native_format.python_strings], ids=["as run", "python"])
def test_string_lengths_are_leb128(encode):
    assert encode(["", "a", "é", "x" * 128]) == b"\x00" + b"\x01a" + b"\x02\xc3\xa9" + b"\x80\x01" + b"x" * 128
    assert encode(["ab", "cd"]) == b"\x02ab\x02cd"  # the one-length fast path, same bytes
    assert encode(("ab", "x" * 20_000)) == b"\x02ab" + b"\xa0\x9c\x01" + b"x" * 20_000  # a tuple; three-byte length


def test_string_columns_are_encoded_in_c_where_it_is_built():
    assert native_format._native_format is not None  # the suite runs on an install with a C compiler


@given(st.lists(st.text(max_size=300) | st.sampled_from(["gpt-4o", "", "é" * 200])))
def test_c_and_python_encode_any_strings_alike(values):
    if native_format._native_format is None:
        pytest.skip("built without the C extension")
    assert native_format._native_format.strings(values) == native_format.python_strings(values)


@pytest.mark.parametrize(
    ("values", "error"),
    [
        (["ok", None], TypeError),
        (["ok", b"bytes"], (TypeError, AttributeError)),
        (["ok", 7], (TypeError, AttributeError)),
        (["ok", "\ud800"], UnicodeEncodeError),
    ],
)
def test_c_and_python_refuse_what_a_string_column_cannot_take(values, error):
    compiled = native_format._native_format
    encoders = [native_format.python_strings] + ([compiled.strings] if compiled is not None else [])
    for encode in encoders:
        with pytest.raises(error):
            encode(values)
