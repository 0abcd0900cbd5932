# SPDX-License-Identifier: Apache-2.0
"""`bound()`: every field of an extracted call within what `llm_calls` holds, and the changed fields named."""

from __future__ import annotations

from decimal import Decimal

from llmledger.collector.extract.bounds import (
    MAX_ATTRIBUTES,
    MAX_MS,
    MAX_TEXT,
    MAX_TIMESTAMP_NS,
    MAX_TOKENS,
    TRUNCATED,
    bound,
)
from llmledger.collector.llm_calls import LlmCall


def test_a_call_in_range_is_left_exactly_as_it_was():
    call = LlmCall(timestamp_ns=1, trace_id="a" * 32, span_id="b" * 16, input_tokens=5, attributes={"team": "core"})

    assert bound(call) == LlmCall(
        timestamp_ns=1, trace_id="a" * 32, span_id="b" * 16, input_tokens=5, attributes={"team": "core"}
    )


def test_out_of_range_values_are_clamped_and_named():
    call = LlmCall(
        timestamp_ns=2**64 - 1,
        trace_id="t",
        span_id="s",
        input_tokens=2**40,
        reasoning_output_tokens=2**33,
        duration_ms=float("inf"),
        time_to_first_chunk_ms=float("nan"),
        cache_savings=Decimal("-5e6"),
        request_model="m" * (MAX_TEXT + 1),
        attributes={f"k{i}": "v" * (MAX_TEXT + 5) for i in range(MAX_ATTRIBUTES + 3)},
    )

    bound(call)

    assert call.timestamp_ns == MAX_TIMESTAMP_NS
    assert (call.input_tokens, call.reasoning_output_tokens) == (MAX_TOKENS, MAX_TOKENS)
    assert (call.duration_ms, call.time_to_first_chunk_ms) == (MAX_MS, 0.0)
    assert call.cache_savings == 0
    assert len(call.request_model) == MAX_TEXT
    flag = call.attributes.pop(TRUNCATED)
    assert len(call.attributes) == MAX_ATTRIBUTES
    assert {len(value) for value in call.attributes.values()} == {MAX_TEXT}
    assert flag.split(",") == [
        "timestamp_ns",
        "input_tokens",
        "reasoning_output_tokens",
        "duration_ms",
        "time_to_first_chunk_ms",
        "cache_savings",
        "request_model",
        "attributes",
    ]


def test_long_fields_each_within_the_limit_are_kept_whole_and_not_flagged():
    call = LlmCall(timestamp_ns=1, trace_id="t", span_id="s", span_name="n" * MAX_TEXT, request_model="m" * MAX_TEXT)

    bound(call)

    assert (len(call.span_name), len(call.request_model)) == (MAX_TEXT, MAX_TEXT)
    assert TRUNCATED not in call.attributes
