# SPDX-License-Identifier: Apache-2.0
"""The call merger's upgrades: a span of a stored call that ranks better than the record the row holds is offered
to the writer, once; a worse one, or one the row already took, is only folded."""

from __future__ import annotations

from decimal import Decimal

from llmledger.collector.llm_calls import CallColumns, LlmCall
from llmledger.collector.pipeline.call_merger import (
    UPGRADE_COLUMNS,
    CallIdentities,
    CallMerger,
    Folding,
    folded_rows,
    rank,
    upgrade_rows,
)
from llmledger.collector.pipeline.records import rows, store_record

TRACE = "0" * 31 + "1"
LANGSMITH = "0" * 31 + "2"


def _langsmith(span: str = "theirs", key: str = "chatcmpl-1") -> LlmCall:
    """A second exporter's span: tokens without the cache, priced by the collector."""
    return LlmCall(
        timestamp_ns=1,
        trace_id=LANGSMITH,
        span_id=span,
        call_key=key,
        input_tokens=1200,
        output_tokens=50,
        cost_source="collector",
        total_cost=Decimal("0.00021"),
    )


def _ours(span: str = "ours", key: str = "chatcmpl-1", parent: str = "") -> LlmCall:
    """llmledger's span: cache tokens, its cost broken down, computed where the call was made."""
    return LlmCall(
        timestamp_ns=2,
        trace_id=TRACE,
        span_id=span,
        parent_span_id=parent,
        call_key=key,
        input_tokens=1200,
        output_tokens=50,
        cache_read_input_tokens=1024,
        cost_source="instrumentation",
        input_cost=Decimal("0.0000264"),
        cache_read_cost=Decimal("0.0000768"),
        output_cost=Decimal("0.00003"),
        total_cost=Decimal("0.0001332"),
        priced_model="gpt-4o-mini",
    )


def _fold(merger: CallMerger, *calls: LlmCall) -> tuple[Folding, CallColumns]:
    columns = CallColumns.of(list(calls))
    return merger.fold(CallIdentities.of(columns)), columns


def test_a_better_span_after_its_calls_row_was_stored_upgrades_that_row():
    merger = CallMerger()
    _fold(merger, _langsmith())
    folding, columns = _fold(merger, _ours())
    assert folding.kept == []
    assert folding.upgrades == [(0, (LANGSMITH, "theirs"))]
    [row] = upgrade_rows(columns, folding, [0])
    upgrade = dict(zip(UPGRADE_COLUMNS, row, strict=True))
    assert (upgrade["KeptSpanId"], upgrade["SpanId"]) == ("theirs", "ours")
    assert (upgrade["CacheReadInputTokens"], upgrade["CostSource"]) == (1024, "instrumentation")
    assert upgrade["TotalCost"] == 133_200_000  # 10^-12 USD, as CallColumns keeps costs


def test_a_worse_span_after_the_better_one_was_stored_is_only_folded():
    merger = CallMerger()
    _fold(merger, _ours())
    folding, _ = _fold(merger, _langsmith())
    assert len(folding.folded) == 1
    assert folding.upgrades == []


def test_a_span_the_row_already_took_is_not_offered_again():
    merger = CallMerger()
    _fold(merger, _langsmith())
    assert _fold(merger, _ours())[0].upgrades
    again, _ = _fold(merger, _ours("ours-again"))  # as good a record, not better
    assert again.upgrades == []


def test_of_several_later_spans_of_a_row_the_best_is_offered():
    merger = CallMerger()
    _fold(merger, _langsmith())
    folding, _ = _fold(merger, _langsmith("also-theirs"), _ours())
    assert folding.upgrades == [(1, (LANGSMITH, "theirs"))]


def test_an_outer_span_of_this_request_folds_into_its_inner_span_which_alone_is_offered():
    merger = CallMerger()
    _fold(merger, _langsmith())
    outer = _langsmith("agent-chat", key="")
    outer.trace_id = TRACE
    outer.cost_source = "provider"  # better on paper: the innermost span still holds the call
    folding, _ = _fold(merger, outer, _ours(parent="agent-chat"))
    assert folding.upgrades == [(1, (LANGSMITH, "theirs"))]


def test_an_upgrade_whose_request_was_not_queued_is_undone():
    merger = CallMerger()
    _fold(merger, _langsmith())
    folding, _ = _fold(merger, _ours())
    merger.undo(folding)
    assert _fold(merger, _ours())[0].upgrades == [(0, (LANGSMITH, "theirs"))]  # the retry is offered again


def test_after_a_restart_the_stored_rows_rank_decides():
    better = rank(CallColumns.of([_ours()]))[0]
    upgraded = CallMerger()
    upgraded.remember([(LANGSMITH, "theirs", "", "chatcmpl-1", better)])  # the row took our record before
    assert _fold(upgraded, _ours("ours-resent"))[0].upgrades == []
    unknown = CallMerger()
    unknown.remember([(LANGSMITH, "theirs", "", "chatcmpl-1")])  # no rank: offered, the writer decides
    assert _fold(unknown, _ours())[0].upgrades == [(0, (LANGSMITH, "theirs"))]


def test_a_queue_record_carries_its_upgrades_and_an_older_record_reads_without_any():
    merger = CallMerger()
    _fold(merger, _langsmith())
    folding, columns = _fold(merger, _ours())
    upgrades = upgrade_rows(columns, folding, [0])
    found = rows(store_record(CallColumns(), {}, [], folded_rows(columns, folding, [0]), upgrades))
    assert found is not None
    assert (len(found.folded), found.upgrades) == (1, upgrades)
    older = rows(store_record(CallColumns(), {}, [], folded_rows(columns, folding, [0])))  # as before upgrades
    assert older is not None
    assert (len(older.folded), older.upgrades) == (1, [])
