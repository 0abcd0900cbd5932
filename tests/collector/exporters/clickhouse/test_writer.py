# SPDX-License-Identifier: Apache-2.0
"""The writer stores LlmCalls exactly, the rollups agree with the facts, and retried batches are dropped."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from time import time_ns

import pytest

from llmledger._core.prices import ModelPrice, Tiered
from llmledger.collector.exporters.clickhouse.errors import QueryFailed
from llmledger.collector.exporters.clickhouse.writer import (
    LLM_CALL_COLUMNS,
    insert_llm_calls,
    insert_raw_spans,
    record_prices,
)
from llmledger.collector.extract.bounds import MAX_MS, MAX_TIMESTAMP_NS, bound
from llmledger.collector.llm_calls import LlmCall


@pytest.fixture(autouse=True)
def empty_tables(client):
    for table in ("llm_calls", "llm_usage_hourly", "llm_usage_daily_user", "llm_trace_costs", "llm_model_prices"):
        client.command(f"TRUNCATE TABLE {table}")


def scalar(client, sql, **parameters):
    return client.query(sql, parameters=parameters).result_rows[0][0]


def test_every_llm_call_field_is_a_column_of_llm_calls(client):
    columns = {
        row[0]
        for row in client.query(
            "SELECT name FROM system.columns WHERE database = currentDatabase() AND table = 'llm_calls'"
        ).result_rows
    }
    assert set(LLM_CALL_COLUMNS.values()) <= columns


def test_a_call_is_stored_field_for_field(client):
    call = LlmCall(
        timestamp_ns=time_ns() // 1000 * 1000 + 123,
        trace_id="0af7651916cd43dd8448eb211c80319c",
        span_id="b7ad6b7169203331",
        parent_span_id="00f067aa0ba902b7",
        tenant="acme",
        user_id="u-1",
        provider="openai",
        request_model="gpt-4o",
        response_model="gpt-4o-2024-08-06",
        priced_model="gpt-4o-2024-08-06",
        is_streaming=True,
        usage_complete=False,
        input_tokens=1200,
        output_tokens=300,
        cache_read_input_tokens=1000,
        reasoning_output_tokens=50,
        input_cost=Decimal("0.0005"),
        cache_read_cost=Decimal("0.00125"),
        output_cost=Decimal("0.003"),
        total_cost=Decimal("0.00475"),
        cost_source="collector",
        price_id="p1",
        attributes={"team": "core"},
    )
    assert insert_llm_calls(client, [call]) == 1

    row = client.query(
        "SELECT toUnixTimestamp64Nano(Timestamp), TraceId, Model, IsStreaming, UsageComplete, InputTokens, "
        "UncachedInputTokens, TotalTokens, TotalCost, CostSource, Attributes FROM llm_calls"
    ).result_rows[0]
    assert row == (
        call.timestamp_ns,
        call.trace_id,
        "gpt-4o-2024-08-06",
        True,
        False,
        1200,
        200,
        1500,
        Decimal("0.00475"),
        "collector",
        {"team": "core"},
    )


def test_model_falls_back_from_priced_to_response_to_request_model(client):
    base = LlmCall(timestamp_ns=time_ns(), trace_id="t", span_id="s")
    insert_llm_calls(
        client,
        [
            replace(base, span_id="1", request_model="asked", response_model="answered", priced_model="priced"),
            replace(base, span_id="2", request_model="asked", response_model="answered"),
            replace(base, span_id="3", request_model="asked"),
        ],
    )
    assert client.query("SELECT SpanId, Model FROM llm_calls ORDER BY SpanId").result_rows == [
        ("1", "priced"),
        ("2", "answered"),
        ("3", "asked"),
    ]


def test_costs_are_rounded_half_even_to_twelve_places_and_oversized_costs_are_refused(client):
    call = LlmCall(timestamp_ns=time_ns(), trace_id="t", span_id="s", total_cost=Decimal("0.0000000000005"))
    insert_llm_calls(client, [call, replace(call, span_id="s2", total_cost=Decimal("0.0000000000015"))])
    assert scalar(client, "SELECT sum(TotalCost) FROM llm_calls") == Decimal("0.000000000002")

    with pytest.raises(ValueError, match="total_cost=1000000 of span t/s"):
        insert_llm_calls(client, [replace(call, total_cost=Decimal(1_000_000))])
    with pytest.raises(ValueError, match="total_cost=inf of span t/s"):
        insert_llm_calls(client, [replace(call, total_cost=float("inf"))])  # type: ignore[arg-type]


def test_float_costs_from_a_careless_extractor_are_stored_by_their_decimal_text(client):
    call = LlmCall(timestamp_ns=time_ns(), trace_id="t", span_id="f", total_cost=0.1)  # type: ignore[arg-type]
    insert_llm_calls(client, [call])
    assert scalar(client, "SELECT TotalCost FROM llm_calls WHERE SpanId = 'f'") == Decimal("0.1")


def test_the_latest_and_longest_call_bound_lets_through_is_stored_with_its_rollups(client):
    """The trace rollup adds the duration to the start: that end must still be a DateTime64(9)."""
    absurd = LlmCall(timestamp_ns=2**64 - 1, trace_id="t", span_id="late", duration_ms=1e300, input_tokens=1)
    call = bound(absurd)
    assert (call.timestamp_ns, call.duration_ms) == (MAX_TIMESTAMP_NS, MAX_MS)
    insert_llm_calls(client, [call])
    end = scalar(client, "SELECT toUnixTimestamp64Nano(max(End)) FROM llm_trace_costs WHERE TraceId = 't'")
    assert end == MAX_TIMESTAMP_NS + int(MAX_MS * 1_000_000)


def test_every_rollup_agrees_exactly_with_llm_calls_final(client, sample_calls):
    insert_llm_calls(client, sample_calls[:17], deduplication_token="batch-1")
    insert_llm_calls(client, sample_calls[17:], deduplication_token="batch-2")

    fact = client.query(
        "SELECT Tenant, toStartOfHour(Timestamp) h, ServiceName, Environment, Feature, Provider, Model, Operation, "
        "count(), countIf(StatusCode = 'Error'), countIf(CostSource = 'unpriced'), sum(InputTokens), "
        "sum(OutputTokens), sum(CacheReadInputTokens), sum(ReasoningOutputTokens), sum(InputCost), "
        "sum(CacheReadCost), sum(OutputCost), sum(TotalCost), sum(CacheSavings), uniqExact(UserId), uniqExact(TraceId) "
        "FROM llm_calls FINAL GROUP BY ALL ORDER BY ALL"
    ).result_rows
    hourly = client.query(
        "SELECT Tenant, Hour, ServiceName, Environment, Feature, Provider, Model, Operation, "
        "sum(Calls), sum(ErrorCalls), sum(UnpricedCalls), sum(InputTokens), sum(OutputTokens), "
        "sum(CacheReadInputTokens), sum(ReasoningOutputTokens), sum(InputCost), sum(CacheReadCost), "
        "sum(OutputCost), sum(TotalCost), sum(CacheSavings), uniqMerge(Users), uniqMerge(Traces) "
        "FROM llm_usage_hourly GROUP BY ALL ORDER BY ALL"
    ).result_rows
    assert hourly == fact
    assert len(fact) > 10

    assert (
        client.query(
            "SELECT Tenant, Day, UserId, ServiceName, Feature, Model, sum(Calls), sum(ErrorCalls), sum(InputTokens), "
            "sum(OutputTokens), sum(CacheReadInputTokens), sum(TotalCost), sum(CacheSavings) "
            "FROM llm_usage_daily_user GROUP BY ALL ORDER BY ALL"
        ).result_rows
        == client.query(
            "SELECT Tenant, toDate(Timestamp), UserId, ServiceName, Feature, Model, count(), "
            "countIf(StatusCode = 'Error'), sum(InputTokens), sum(OutputTokens), sum(CacheReadInputTokens), "
            "sum(TotalCost), sum(CacheSavings) "
            "FROM llm_calls FINAL GROUP BY ALL ORDER BY ALL"
        ).result_rows
    )

    traces = (
        "SELECT Tenant, Day, TraceId, min(Start), max(End), sum(Calls), sum(ErrorCalls), sum(UnpricedCalls), "
        "sum(InputTokens), sum(OutputTokens), sum(TotalCost), sum(CacheSavings), "
        "arraySort(groupUniqArrayArray(Models)), max(ServiceName), max(UserId), max(SessionId), max(Feature) "
        "FROM llm_trace_costs GROUP BY ALL ORDER BY ALL"
    )
    expected_traces = client.query(
        "SELECT Tenant, toDate(Timestamp), TraceId, min(Timestamp), "
        "max(Timestamp + toIntervalNanosecond(toInt64(DurationMs * 1000000))), count(), "
        "countIf(StatusCode IN ('Error', 'STATUS_CODE_ERROR') OR ErrorType != ''), countIf(CostSource = 'unpriced'), "
        "sum(InputTokens), sum(OutputTokens), sum(TotalCost), sum(CacheSavings), arraySort(groupUniqArray(Model)), "
        "max(toString(ServiceName)), max(UserId), max(SessionId), max(toString(Feature)) "
        "FROM llm_calls FINAL GROUP BY ALL ORDER BY ALL"
    ).result_rows
    assert client.query(traces).result_rows == expected_traces
    # Merged, each trace is one row (its view adds one row per call; the merges fold them), with the same sums.
    client.command("OPTIMIZE TABLE llm_trace_costs FINAL")
    assert scalar(client, "SELECT count() FROM llm_trace_costs") == len(expected_traces)
    assert client.query(traces).result_rows == expected_traces

    # … and the facts are the Python values, to the last of twelve decimal places.
    by_tenant: dict[str, Decimal] = defaultdict(Decimal)
    for call in sample_calls:
        by_tenant[call.tenant] += call.total_cost
    assert dict(client.query("SELECT Tenant, sum(TotalCost) FROM llm_usage_hourly GROUP BY Tenant").result_rows) == {
        tenant: total.quantize(Decimal("1e-12")) for tenant, total in by_tenant.items()
    }


def test_a_batch_retried_with_the_same_token_is_dropped_everywhere(client, sample_calls):
    insert_llm_calls(client, sample_calls, deduplication_token="segment-7:0")
    insert_llm_calls(client, sample_calls, deduplication_token="segment-7:0")

    expected_total = sum((call.total_cost for call in sample_calls), Decimal(0))
    assert scalar(client, "SELECT count() FROM llm_calls") == len(sample_calls)
    for table in ("llm_usage_hourly", "llm_usage_daily_user", "llm_trace_costs"):
        assert scalar(client, f"SELECT sum(Calls) FROM {table}") == len(sample_calls), table
        assert scalar(client, f"SELECT sum(TotalCost) FROM {table}") == expected_total, table


def test_different_batches_whose_rollup_rows_look_alike_both_count(client):
    # Two calls that differ only in span id give byte-identical hourly rollup blocks: neither may be dropped.
    call = LlmCall(timestamp_ns=time_ns(), trace_id="t", span_id="a", total_cost=Decimal("0.5"))
    insert_llm_calls(client, [call], deduplication_token="batch-a")
    insert_llm_calls(client, [replace(call, span_id="b")], deduplication_token="batch-b")
    insert_llm_calls(client, [replace(call, span_id="c")])  # no token at all

    assert scalar(client, "SELECT sum(Calls) FROM llm_usage_hourly") == 3
    assert scalar(client, "SELECT sum(TotalCost) FROM llm_usage_hourly") == Decimal("1.5")


def test_the_prices_used_are_recorded_once_per_price_id(client):
    flat = ModelPrice(
        "openai",
        "gpt-4o",
        Decimal("2.5"),
        Decimal("10"),
        cache_read=Decimal("1.25"),
        id="p-flat",
        version="genai-prices 0.2.3",
    )
    tiered = ModelPrice(
        "google",
        "gemini-pro",
        Tiered(Decimal("1.25"), ((200_000, Decimal("2.5")),)),
        Decimal("10"),
        source="override",
        id="p-tiered",
    )
    call = LlmCall(timestamp_ns=time_ns(), trace_id="t", span_id="s", price_id="p-flat")

    insert_llm_calls(client, [call], prices=[flat, tiered, flat])
    record_prices(client, [flat])

    rows = client.query(
        "SELECT PriceId, Provider, Model, Source, Version, InputPerMTok, OutputPerMTok, CacheReadPerMTok, "
        "CacheWritePerMTok, Tiers FROM llm_model_prices FINAL ORDER BY PriceId"
    ).result_rows
    assert rows == [
        (
            "p-flat",
            "openai",
            "gpt-4o",
            "genai-prices",
            "genai-prices 0.2.3",
            Decimal("2.5"),
            Decimal("10"),
            Decimal("1.25"),
            None,
            "",
        ),
        (
            "p-tiered",
            "google",
            "gemini-pro",
            "override",
            "",
            Decimal("1.25"),
            Decimal("10"),
            None,
            None,
            '{"input": [[200000, "2.5"]]}',
        ),
    ]
    assert scalar(client, "SELECT p.Model FROM llm_calls c JOIN llm_model_prices p FINAL ON p.PriceId = c.PriceId") == (
        "gpt-4o"
    )


def test_an_override_price_is_recorded_under_its_pattern_and_its_calls_under_their_models(client):
    entry = ModelPrice("openai", "gpt-4o-mini*", Decimal("0.2"), Decimal("0.8"), source="override", id="p-glob")
    entry = replace(entry, pattern="gpt-4o-mini*")
    base = LlmCall(timestamp_ns=time_ns(), trace_id="t", span_id="s", provider="openai", price_id="p-glob")
    calls = [
        replace(base, span_id=str(index), response_model=model, priced_model=model)
        for index, model in enumerate(("gpt-4o-mini-2024-07-18", "gpt-4o-mini"))
    ]

    insert_llm_calls(client, calls, prices=[replace(entry, model=call.priced_model) for call in calls])

    assert client.query("SELECT DISTINCT Model FROM llm_calls ORDER BY Model").result_rows == [
        ("gpt-4o-mini",),
        ("gpt-4o-mini-2024-07-18",),
    ]
    assert client.query("SELECT PriceId, Model FROM llm_model_prices FINAL").result_rows == [("p-glob", "gpt-4o-mini*")]


def test_raw_span_rows_go_into_otel_traces_and_its_trace_time_lookup(client):
    client.command("TRUNCATE TABLE otel_traces")
    start = time_ns()
    columns = [
        "Timestamp",
        "TraceId",
        "SpanId",
        "ParentSpanId",
        "TraceState",
        "SpanName",
        "SpanKind",
        "ServiceName",
        "ResourceAttributes",
        "ScopeName",
        "ScopeVersion",
        "SpanAttributes",
        "Duration",
        "StatusCode",
        "StatusMessage",
        "Events.Timestamp",
        "Events.Name",
        "Events.Attributes",
        "Links.TraceId",
        "Links.SpanId",
        "Links.TraceState",
        "Links.Attributes",
    ]
    row = [
        start,
        "0af7651916cd43dd8448eb211c80319c",
        "b7ad6b7169203331",
        "",
        "",
        "chat gpt-4o",
        "Client",
        "bot",
        {"service.name": "bot"},
        "llmledger.openai",
        "0.1.0",
        {"gen_ai.request.model": "gpt-4o"},
        1_500_000,
        "Ok",
        "",
        [start],
        ["gen_ai.content.prompt"],
        [{"k": "v"}],
        [],
        [],
        [],
        [],
    ]

    assert insert_raw_spans(client, columns, [row], deduplication_token="raw-1") == 1
    insert_raw_spans(client, columns, [row], deduplication_token="raw-1")

    assert client.query(
        "SELECT SpanName, SpanAttributes['gen_ai.request.model'], Events.Name FROM otel_traces"
    ).result_rows == [("chat gpt-4o", "gpt-4o", ["gen_ai.content.prompt"])]
    assert client.query(
        "SELECT count(), min(Start) FROM otel_traces_trace_id_ts WHERE TraceId = {t:String}",
        parameters={"t": "0af7651916cd43dd8448eb211c80319c"},
    ).result_rows == [(1, datetime.fromtimestamp(start // 10**9, UTC).replace(tzinfo=None))]


@pytest.mark.parametrize(
    ("bad", "column"),
    [({"input_tokens": -1}, "InputTokens"), ({"tenant": None}, "Tenant"), ({"attributes": {"n": 1}}, "llm_calls")],
)
def test_a_value_a_column_cannot_take_fails_the_batch_as_a_query_failure(client, bad, column):
    call = LlmCall(timestamp_ns=time_ns(), trace_id="t", span_id="bad", **bad)
    with pytest.raises(QueryFailed, match=column) as caught:
        insert_llm_calls(client, [call])
    assert not caught.value.transient
