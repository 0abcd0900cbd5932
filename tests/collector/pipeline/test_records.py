# SPDX-License-Identifier: Apache-2.0
"""Queue records: a store record gives back the very calls, prices and raw rows it was made of, a record of
calls with other fields than this version's is refused naming them, and each consumer sees only its own records."""

from __future__ import annotations

import marshal
import pickle
import struct
from dataclasses import replace
from decimal import Decimal

import pytest

from llmledger.collector.llm_calls import FIELD_NAMES, CallColumns, LlmCall, fits, storable
from llmledger.collector.pipeline.records import body, forward_record, rows, store_record


def test_a_store_record_gives_back_the_calls_prices_and_raw_rows_it_was_made_of(sample_calls):
    raw = [[1, "trace", "span", {"k": "v"}]]
    found = rows(store_record(CallColumns.of(sample_calls), {}, raw))
    assert found is not None
    assert (found.calls, found.prices, found.raw) == (CallColumns.of(sample_calls), {}, raw)
    assert found.calls.calls() == [_rounded(call) for call in sample_calls]
    assert list(found.calls.keys()) == [call.trace_id + call.span_id for call in sample_calls]


@pytest.mark.parametrize("pickled", [False, True], ids=["marshal", "pickle"])
def test_a_store_record_keeps_the_spans_folded_into_another_rows_call(sample_calls, pickled):
    folded = [(1, "trace", "span", "", "ChatOpenAI", "", "app", "openai", "gpt-4o-mini", "chatcmpl-1", "kept-trace",
               "kept-span", "same response id", 10, 2, 0, 12_000_000, "collector")]  # fmt: skip
    calls = [replace(sample_calls[0], span_name=Text("chat"))] if pickled else sample_calls
    found = rows(store_record(CallColumns.of(calls), {}, [], folded))
    assert found is not None
    assert (found.folded, len(found)) == (folded, len(calls) + 1)
    assert rows(store_record(CallColumns.of(calls), {}, [])).folded == []  # type: ignore[union-attr]


def test_a_record_queued_by_the_version_before_call_keys_is_read_with_none(sample_calls):
    columns = CallColumns.of(sample_calls).columns
    names = [name for name in FIELD_NAMES if name != "call_key"]
    marshalled = marshal.dumps((names, columns[:-1]), 4)
    found = rows(b"M" + struct.pack("<I", len(marshalled)) + marshalled + pickle.dumps(({}, [])))
    assert found is not None
    assert list(found.calls.field("call_key")) == [""] * len(sample_calls)
    assert found.calls.field("span_id") == CallColumns.of(sample_calls).field("span_id")


def test_costs_are_kept_as_integers_of_ten_to_the_minus_twelve_usd_rounded_half_even():
    call = LlmCall(1, "t", "s", input_cost=Decimal("0.0000000000005"), output_cost=Decimal("0.0000000000015"))
    extremes = replace(call, span_id="x", total_cost=Decimal("999999.9999999999994"), other_cost=Decimal("-0.25"))
    columns = CallColumns.of([call, extremes])
    assert columns.field("input_cost") == [0, 0]
    assert columns.field("output_cost") == [2, 2]
    assert columns.field("total_cost") == [0, 999_999_999_999_999_999]
    assert columns.field("other_cost") == [0, -250_000_000_000]
    assert columns.calls()[1].total_cost == Decimal("999999.999999999999")


@pytest.mark.parametrize("cost", [Decimal(1_000_000), Decimal("999999.9999999999995"), Decimal("-1e6"), Decimal("NaN")])
def test_a_cost_decimal_18_12_cannot_hold_is_refused_naming_the_span(cost):
    call = LlmCall(1, "t", "s", cache_write_cost=cost)
    with pytest.raises(ValueError, match=r"cache_write_cost=.* of span t/s does not fit Decimal\(18, 12\)"):
        CallColumns.of([call])
    assert not fits(call)


def test_a_value_marshal_cannot_write_is_pickled_with_its_record_and_loads_the_same(sample_calls):
    columns = CallColumns.of([replace(sample_calls[0], feature=Text("search"))])
    record = store_record(columns, {}, [])
    assert record[:1] == b"C"
    found = rows(record)
    assert found is not None and found.calls == columns


@pytest.mark.parametrize("tag", [b"M", b"C"])
def test_a_record_of_calls_with_other_fields_is_refused_naming_them(sample_calls, tag):
    names = ("timestamp_ns", "trace_id", "span_id", "retired_field")
    columns = [(7,), ("t" * 32,), ("s" * 16,), ("whatever",)]
    if tag == b"M":
        marshalled = marshal.dumps((names, columns), 4)
        record = b"M" + struct.pack("<I", len(marshalled)) + marshalled + pickle.dumps(({}, []))
    else:
        record = b"C" + pickle.dumps((names, columns, {}, []))
    with pytest.raises(ValueError, match=r"fields timestamp_ns, trace_id, span_id, retired_field, not .*: it was"):
        rows(record)
    assert rows(store_record(CallColumns.of(sample_calls), {}, [])) is not None  # this version's: read


def test_each_consumer_reads_only_its_own_records():
    assert body(store_record(CallColumns(), {}, [])) is None
    assert rows(forward_record(b"\x0a\x00")) is None
    assert body(forward_record(b"\x0a\x00")) == b"\x0a\x00"


class Text(str):
    """A string marshal refuses (it writes exact built-in types only)."""


def _rounded(call: LlmCall) -> LlmCall:
    costs = {
        name: getattr(call, name).quantize(Decimal("1e-12"))
        for name in (
            "input_cost",
            "cache_read_cost",
            "cache_write_cost",
            "output_cost",
            "other_cost",
            "total_cost",
            "cache_savings",
        )
    }
    return replace(call, **costs)


def test_storable_keeps_the_calls_that_fit_and_counts_the_others():
    fine = LlmCall(1, "t", "a", total_cost=Decimal("0.5"))
    negative = LlmCall(1, "t", "b", other_cost=Decimal("-1e6"))  # not the total: refused all the same
    columns, refused = storable([fine, negative, replace(fine, span_id="c")])
    assert (list(columns.keys()), refused) == (["ta", "tc"], 1)
