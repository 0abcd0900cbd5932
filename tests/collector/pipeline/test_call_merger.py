# SPDX-License-Identifier: Apache-2.0
"""The call merger: one kept row per provider call, whichever spans report it, and where every other span went."""

from __future__ import annotations

from decimal import Decimal

from llmledger.collector.llm_calls import CallColumns, LlmCall
from llmledger.collector.pipeline.call_merger import (
    LATE_INNER_SPAN,
    OUTER_SPAN,
    SAME_RESPONSE,
    CallIdentities,
    CallMerger,
    folded_rows,
    total_cost,
)

TRACE = "0" * 31 + "1"
OTHER_TRACE = "0" * 31 + "2"


def _call(span: str, *, parent: str = "", key: str = "", trace: str = TRACE, **fields) -> LlmCall:
    values = {"input_tokens": 100, "output_tokens": 10, "cost_source": "collector", "total_cost": Decimal("0.001")}
    values.update(fields)
    return LlmCall(timestamp_ns=1, trace_id=trace, span_id=span, parent_span_id=parent, call_key=key, **values)


def _fold(merger: CallMerger, *calls: LlmCall):
    columns = CallColumns.of(list(calls))
    folding = merger.fold(CallIdentities.of(columns))
    kept = [calls[position].span_id for position in folding.kept]
    folded = {calls[position].span_id: (holder[1], reason) for position, holder, reason in folding.folded}
    return kept, folded


def test_spans_of_different_calls_are_all_kept():
    kept, folded = _fold(CallMerger(), _call("a", key="chatcmpl-1"), _call("b", key="chatcmpl-2"), _call("c"))
    assert (kept, folded) == (["a", "b", "c"], {})


def test_spans_with_one_response_id_keep_the_one_with_the_best_cost_source_across_traces():
    ours = _call("ours", key="chatcmpl-1", cost_source="instrumentation", cache_read_input_tokens=40)
    langsmith = _call("theirs", key="chatcmpl-1", trace=OTHER_TRACE, cost_source="collector")
    kept, folded = _fold(CallMerger(), langsmith, ours)
    assert kept == ["ours"]
    assert folded == {"theirs": ("ours", SAME_RESPONSE)}


def test_complete_usage_wins_over_a_better_cost_source():
    no_usage = _call("stream", key="id-1", cost_source="instrumentation", usage_complete=False)
    full = _call("full", key="id-1", cost_source="collector")
    assert _fold(CallMerger(), no_usage, full)[0] == ["full"]


def test_a_cost_broken_down_by_kind_wins_over_a_bare_total_from_the_same_source():
    total_only = _call("litellm", key="id-1", cost_source="instrumentation", other_cost=Decimal("0.001"))
    broken_down = _call("ours", key="id-1", cost_source="instrumentation", input_cost=Decimal("0.001"))
    assert _fold(CallMerger(), total_only, broken_down)[0] == ["ours"]


def test_an_outer_llm_span_without_an_id_folds_into_the_innermost():
    framework = _call("outer", parent="agent", cost_source="collector")
    middle = _call("middle", parent="outer")
    sdk = _call("inner", parent="middle", key="chatcmpl-1", cost_source="instrumentation")
    kept, folded = _fold(CallMerger(), sdk, middle, framework)
    assert kept == ["inner"]
    assert folded == {"outer": ("inner", OUTER_SPAN), "middle": ("inner", OUTER_SPAN)}


def test_nested_spans_with_the_same_response_id_keep_the_better_one_even_the_outer():
    ours = _call("ours", key="chatcmpl-1", cost_source="instrumentation", priced_model="gpt-4o-mini")
    litellm_callback = _call("callback", parent="ours", key="chatcmpl-1", cost_source="instrumentation")
    kept, folded = _fold(CallMerger(), litellm_callback, ours)
    assert kept == ["ours"]
    assert folded == {"callback": ("ours", SAME_RESPONSE)}


def test_nested_spans_with_different_response_ids_are_two_calls():
    kept, _ = _fold(CallMerger(), _call("outer", key="id-1"), _call("inner", parent="outer", key="id-2"))
    assert kept == ["outer", "inner"]


def test_an_outer_span_around_two_calls_folds_into_the_first_and_both_calls_keep_their_rows():
    kept, folded = _fold(
        CallMerger(), _call("outer"), _call("first", parent="outer", key="id-1"), _call("second", parent="outer")
    )
    assert kept == ["first", "second"]
    assert folded == {"outer": ("first", OUTER_SPAN)}


def test_a_span_arriving_after_its_call_was_stored_folds_into_the_stored_row():
    merger = CallMerger()
    assert _fold(merger, _call("ours", parent="agent", key="chatcmpl-1")) == (["ours"], {})
    # a later request: a second exporter's span with the same id, and the framework's span around ours
    langsmith = _call("theirs", key="chatcmpl-1", trace=OTHER_TRACE, cost_source="provider")
    framework = _call("agent", parent="run")
    kept, folded = _fold(merger, langsmith, framework)
    assert kept == []
    assert folded == {"theirs": ("ours", SAME_RESPONSE), "agent": ("ours", OUTER_SPAN)}


def test_an_inner_span_arriving_after_its_outer_was_stored_folds_into_the_outer():
    merger = CallMerger()
    _fold(merger, _call("outer"))
    assert _fold(merger, _call("inner", parent="outer")) == ([], {"inner": ("outer", LATE_INNER_SPAN)})


def test_a_span_folded_into_a_kept_one_passes_its_response_id_on():
    merger = CallMerger()
    framework = _call("outer", key="chatcmpl-1")  # the id is only on the framework's span
    sdk = _call("inner", parent="outer")
    assert _fold(merger, framework, sdk) == (["inner"], {"outer": ("inner", OUTER_SPAN)})
    other_exporter = _call("theirs", key="chatcmpl-1", trace=OTHER_TRACE)
    assert _fold(merger, other_exporter) == ([], {"theirs": ("inner", SAME_RESPONSE)})


def test_a_stored_row_sent_again_is_neither_kept_nor_folded():
    merger = CallMerger()
    _fold(merger, _call("ours", key="chatcmpl-1"))
    columns = CallColumns.of([_call("ours", key="chatcmpl-1")])
    folding = merger.fold(CallIdentities.of(columns))
    assert (list(folding.kept), folding.folded, folding.resent) == ([], [], [0])


def test_undo_forgets_a_request_that_was_not_queued_so_its_retry_is_kept():
    merger = CallMerger()
    columns = CallColumns.of([_call("ours", key="chatcmpl-1")])
    merger.undo(merger.fold(CallIdentities.of(columns)))
    assert list(merger.fold(CallIdentities.of(columns)).kept) == [0]


def test_a_restarted_merger_seeded_with_stored_calls_folds_their_late_spans():
    merger = CallMerger()
    merger.remember([(TRACE, "ours", "agent", "chatcmpl-1")])
    kept, folded = _fold(merger, _call("theirs", key="chatcmpl-1", trace=OTHER_TRACE), _call("agent"))
    assert kept == []
    assert folded == {"theirs": ("ours", SAME_RESPONSE), "agent": ("ours", OUTER_SPAN)}


def test_the_memory_is_bounded_and_forgets_the_oldest_calls_first():
    merger = CallMerger(capacity=2)
    for index in range(3):
        _fold(merger, _call(f"span-{index}", key=f"id-{index}"))
    assert _fold(merger, _call("late-0", key="id-0", trace=OTHER_TRACE))[0] == ["late-0"]
    assert _fold(merger, _call("late-2", key="id-2", trace=OTHER_TRACE))[0] == []


def test_folded_rows_name_the_kept_row_and_keep_the_folded_spans_own_tokens_and_cost():
    ours = _call("ours", key="chatcmpl-1", cost_source="instrumentation", input_cost=Decimal("0.002"))
    theirs = _call("theirs", key="chatcmpl-1", trace=OTHER_TRACE, input_tokens=90, total_cost=Decimal("0.0015"))
    columns = CallColumns.of([theirs, ours])
    folding = CallMerger().fold(CallIdentities.of(columns))
    (row,) = folded_rows(columns, folding, [0, 1])
    assert row[1:3] == (OTHER_TRACE, "theirs")
    assert row[9:13] == ("chatcmpl-1", TRACE, "ours", SAME_RESPONSE)
    assert row[13] == 90
    assert total_cost(row) == Decimal("0.0015")


def test_the_rank_of_a_subset_of_rows_is_read_from_the_rows_it_names():
    resent = _call("resent", key="chatcmpl-0")
    worse = _call("worse", key="chatcmpl-1", trace=OTHER_TRACE, cost_source="collector")
    better = _call("better", key="chatcmpl-1", cost_source="provider")
    identities = CallIdentities.of(CallColumns.of([resent, better, worse]))
    for taken in (
        identities.take([1, 2]),
        CallIdentities.of(CallColumns.of([resent, better, worse]), ranked=True).take([1, 2]),
    ):
        folding = CallMerger().fold(taken)
        assert [taken.span_ids[position] for position in folding.kept] == ["better"]
