# SPDX-License-Identifier: Apache-2.0
"""Queue records: a store record gives back the very calls, prices and raw rows it was made of, a backlog
written by a version with other `LlmCall` fields still loads, and each consumer sees only its own records."""

from __future__ import annotations

import pickle
from decimal import Decimal

from llmledger.collector.calls import LlmCall
from llmledger.collector.records import body, forward_record, rows, store_record


def test_a_store_record_gives_back_the_calls_prices_and_raw_rows_it_was_made_of(sample_calls):
    raw = [[1, "trace", "span", {"k": "v"}]]
    found = rows(store_record(sample_calls, {}, raw))
    assert found is not None
    assert (found.calls, found.prices, found.raw) == (sample_calls, {}, raw)
    assert all(isinstance(call.total_cost, Decimal) for call in found.calls)


def test_a_record_of_an_older_layout_loads_by_field_name_ignoring_fields_that_are_gone():
    names = ("timestamp_ns", "trace_id", "span_id", "total_cost", "retired_field")
    columns = [(7,), ("t" * 32,), ("s" * 16,), (Decimal("0.25"),), ("whatever",)]
    found = rows(b"S" + pickle.dumps((names, columns, {}, [])))
    assert found is not None
    assert found.calls == [LlmCall(7, "t" * 32, "s" * 16, total_cost=Decimal("0.25"))]


def test_each_consumer_reads_only_its_own_records():
    assert body(store_record([], {}, [])) is None
    assert rows(forward_record(b"\x0a\x00")) is None
    assert body(forward_record(b"\x0a\x00")) == b"\x0a\x00"
