# SPDX-License-Identifier: Apache-2.0
"""A better span of a call that arrives after the call's row was stored, on a real ClickHouse and a real disk
queue: the one row takes its tokens and cost, every rollup moves by exactly the change (tokens included), once,
whether the span is delivered twice, after a restart, or its batch is re-read after a crash between the journal
and the row's new version; a worse late span changes nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmledger.collector.exporters.clickhouse.errors import BadQuery, ConnectionFailed
from llmledger.collector.exporters.clickhouse.merged_calls import journal_upgrades
from llmledger.collector.exporters.clickhouse.writer import ClickHouseStore
from llmledger.collector.pipeline.pipeline import Pipeline
from llmledger.collector.pipeline.queue import DiskQueue

_OURS = {  # llmledger's span: cached tokens, its cost computed where the call was made, broken down
    "gen_ai.provider.name": "openai",
    "gen_ai.operation.name": "chat",
    "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.usage.input_tokens": 1200,
    "gen_ai.usage.output_tokens": 50,
    "gen_ai.usage.cache_read.input_tokens": 1024,
    "gen_ai.usage.cost.amount": 0.0001332,
    "llmledger.cost.input": 0.0000264,
    "llmledger.cost.cache_read": 0.0000768,
    "llmledger.cost.output": 0.00003,
}
_LANGSMITH = {  # a second exporter's span of the same call, in a trace of its own: no cache tokens, no cost
    "gen_ai.system": "openai",
    "gen_ai.operation.name": "chat",
    "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.usage.input_tokens": 1200,
    "gen_ai.usage.output_tokens": 50,
}
_OUR_COST = Decimal("0.000133200000")


class _App:
    """One exporter of an app; `request()` is what it sent since the last call, one OTLP request."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.exporter = InMemorySpanExporter()
        provider = TracerProvider(resource=Resource.create({"service.name": service}))
        provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.tracer = provider.get_tracer("t")

    def span(self, name: str, attributes: dict, response_id: str):
        # The app's session and a custom attribute, both named after the service: the rollups by session and by
        # attribute value are compared per service too.
        attributes = {
            **attributes,
            "gen_ai.response.id": response_id,
            "session.id": self.service,
            "llmledger.custom.team": self.service,
        }
        with self.tracer.start_as_current_span(name, attributes=attributes):
            pass
        request = encode_spans(self.exporter.get_finished_spans())
        self.exporter.clear()
        return request


class _CutShort(ClickHouseStore):
    """A store whose process dies between an upgrade's journal insert and the row's new version: the journal
    lands, then every write fails until the collector is stopped."""

    def write_upgrades(self, rows, prices, token):
        journal_upgrades(self.client, rows, database=self.database, deduplication_token=token, prices=prices)
        raise ConnectionFailed("the collector was killed here")


class _Refused(ClickHouseStore):
    """A store whose new version of an upgraded row ClickHouse refuses for good after the journal landed: the
    writer drops the batch's upgrades (counted) and goes on."""

    def write_upgrades(self, rows, prices, token):
        journal_upgrades(self.client, rows, database=self.database, deduplication_token=token, prices=prices)
        raise BadQuery("refused for what it is", code=62)  # SYNTAX_ERROR: never retried


def _pipeline(client, tmp_path, store: ClickHouseStore | None = None) -> Pipeline:
    queue = DiskQueue(tmp_path / "queue", ("store",), max_bytes=1 << 24)
    pipeline = Pipeline(store or ClickHouseStore(client), queue, flush_interval=0.05, retry_delay=0.05)
    pipeline.remember_stored(ClickHouseStore(client).recent_call_keys(1000))  # as the service does at start
    return pipeline.start()


def _row(client, service: str) -> list[tuple]:
    query = (
        "SELECT SpanName, InputTokens, CacheReadInputTokens, CostSource, TotalCost, RepricedBy != '' FROM llm_calls"
        " FINAL WHERE ServiceName = {s:String}"
    )
    return client.query(query, {"s": service}).result_rows


def _merges(client, service: str) -> int:
    query = "SELECT count() FROM llm_call_repricings WHERE ServiceName = {s:String} AND startsWith(RunId, 'merge:')"
    return client.query(query, {"s": service}).result_rows[0][0]


# Each total over llm_calls FINAL, and the same total over each rollup fed from llm_calls (and the journal).
_CALLS = {
    "calls": "count()",
    "input tokens": "sum(InputTokens)",
    "output tokens": "sum(OutputTokens)",
    "cache read tokens": "sum(CacheReadInputTokens)",
    "cache write tokens": "sum(CacheCreationInputTokens)",
    "reasoning tokens": "sum(ReasoningOutputTokens)",
    "incomplete usage": "countIf(NOT UsageComplete)",
    "unpriced": "countIf(CostSource = 'unpriced')",
    "cost": "sum(TotalCost)",
    "input cost": "sum(InputCost)",
    "cache read cost": "sum(CacheReadCost)",
    "other cost": "sum(OtherCost)",
    "savings": "sum(CacheSavings)",
}
_ROLLUPS = {
    "llm_usage_hourly": {
        "calls": "sum(Calls)",
        "input tokens": "sum(InputTokens)",
        "output tokens": "sum(OutputTokens)",
        "cache read tokens": "sum(CacheReadInputTokens)",
        "cache write tokens": "sum(CacheCreationInputTokens)",
        "reasoning tokens": "sum(ReasoningOutputTokens)",
        "incomplete usage": "sum(IncompleteUsageCalls)",
        "unpriced": "sum(UnpricedCalls)",
        "cost": "sum(TotalCost)",
        "input cost": "sum(InputCost)",
        "cache read cost": "sum(CacheReadCost)",
        "other cost": "sum(OtherCost)",
        "savings": "sum(CacheSavings)",
    },
    "llm_usage_daily_user": {
        "calls": "sum(Calls)",
        "input tokens": "sum(InputTokens)",
        "output tokens": "sum(OutputTokens)",
        "cache read tokens": "sum(CacheReadInputTokens)",
        "cost": "sum(TotalCost)",
        "savings": "sum(CacheSavings)",
    },
    "llm_budget_usage": {"calls": "sum(Calls)", "cost": "sum(TotalCost)"},
    "llm_session_costs": {"calls": "sum(Calls)", "cost": "sum(TotalCost)"},
    "llm_attribute_costs": {"calls": "sum(Calls)", "cost": "sum(TotalCost)"},
    "llm_usage_daily": {
        "calls": "sum(Calls)",
        "input tokens": "sum(InputTokens)",
        "output tokens": "sum(OutputTokens)",
        "cache read tokens": "sum(CacheReadInputTokens)",
        "cache write tokens": "sum(CacheCreationInputTokens)",
        "reasoning tokens": "sum(ReasoningOutputTokens)",
        "incomplete usage": "sum(IncompleteUsageCalls)",
        "unpriced": "sum(UnpricedCalls)",
        "cost": "sum(TotalCost)",
    },
    "llm_trace_costs": {
        "calls": "sum(Calls)",
        "input tokens": "sum(InputTokens)",
        "output tokens": "sum(OutputTokens)",
        "unpriced": "sum(UnpricedCalls)",
        "cost": "sum(TotalCost)",
        "savings": "sum(CacheSavings)",
    },
}


# The rows of a service in the rollups that do not name it: by its traces, its session, its attribute's value.
_FILTERS = {
    "llm_trace_costs": "TraceId IN (SELECT TraceId FROM llm_calls WHERE ServiceName = {s:String})",
    "llm_session_costs": "SessionId = {s:String}",
    "llm_attribute_costs": "Key = 'team' AND Value = {s:String}",
}


def _assert_rollups_agree(client, service: str) -> None:
    """Every rollup's sums for `service` are those of llm_calls FINAL (those the schema has: the daily, session
    and attribute rollups came with later migrations)."""
    where = {"s": service}
    calls = client.query(
        f"SELECT {', '.join(_CALLS.values())} FROM llm_calls FINAL WHERE ServiceName = {{s:String}}", where
    ).result_rows[0]
    expected = dict(zip(_CALLS, calls, strict=True))
    tables = {
        row[0] for row in client.query("SELECT name FROM system.tables WHERE database = currentDatabase()").result_rows
    }
    for table, sums in _ROLLUPS.items():
        if table not in tables:
            continue
        filter_ = _FILTERS.get(table, "ServiceName = {s:String}")
        found = client.query(f"SELECT {', '.join(sums.values())} FROM {table} WHERE {filter_}", where).result_rows[0]
        assert dict(zip(sums, found, strict=True)) == {name: expected[name] for name in sums}, table


def test_a_better_span_arriving_later_gives_the_one_row_its_tokens_and_cost(client, tmp_path):
    app, langsmith = _App("later"), _App("later")
    pipeline = _pipeline(client, tmp_path)
    pipeline.accept(langsmith.span("ChatOpenAI", _LANGSMITH, "chatcmpl-10"))
    pipeline.stop()
    [(name, tokens, cached, source, worse_cost, _)] = _row(client, "later")
    assert (name, tokens, cached, source) == ("ChatOpenAI", 1200, 0, "collector")

    pipeline = _pipeline(client, tmp_path)
    pipeline.accept(app.span("chat gpt-4o-mini", _OURS, "chatcmpl-10"))  # a second later, in another request
    pipeline.stop()
    # One row: LangSmith's (its identity: the rollups' keys), with our tokens and cost, naming our span.
    assert _row(client, "later") == [("ChatOpenAI", 1200, 1024, "instrumentation", _OUR_COST, True)]
    assert worse_cost > _OUR_COST  # priced without the cache: the upgrade moves the totals down
    ours = client.query(
        "SELECT TraceId, SpanId FROM llm_call_spans FINAL WHERE ServiceName = 'later' AND CallKey = 'chatcmpl-10'"
    ).result_rows
    assert len(ours) == 1  # our span has no row of its own: it is listed, naming the row holding its record
    taken = client.query("SELECT RepricedBy FROM llm_calls FINAL WHERE ServiceName = 'later'").result_rows[0][0]
    assert taken == f"merge:{ours[0][0]}:{ours[0][1]}"
    _assert_rollups_agree(client, "later")
    assert _merges(client, "later") == 1


def test_the_better_span_delivered_twice_and_after_a_restart_moves_the_rollups_once(client, tmp_path):
    app, langsmith = _App("twice"), _App("twice")
    first = _pipeline(client, tmp_path)
    first.accept(langsmith.span("ChatOpenAI", _LANGSMITH, "chatcmpl-11"))
    late = app.span("chat gpt-4o-mini", _OURS, "chatcmpl-11")
    first.accept(late)
    first.accept(late)  # the exporter's retry
    first.stop()
    restarted = _pipeline(client, tmp_path)  # a new process: the memory, ranks included, from llm_calls
    restarted.accept(late)  # delivered again after the restart: the row holds this record already
    restarted.stop()
    assert _row(client, "twice") == [("ChatOpenAI", 1200, 1024, "instrumentation", _OUR_COST, True)]
    assert _merges(client, "twice") == 1
    _assert_rollups_agree(client, "twice")
    assert client.query("SELECT count() FROM llm_call_spans FINAL WHERE ServiceName = 'twice'").result_rows == [(1,)]


def test_a_crash_between_the_journal_and_the_new_version_is_finished_by_the_next_start(client, tmp_path):
    app, langsmith = _App("crash"), _App("crash")
    dying = _pipeline(client, tmp_path, _CutShort(client))
    dying.accept(langsmith.span("ChatOpenAI", _LANGSMITH, "chatcmpl-12"))
    dying.accept(app.span("chat gpt-4o-mini", _OURS, "chatcmpl-12"))
    dying.stop(timeout=1.0)  # the writer is retrying the upgrade: the batch stays in flight
    assert _merges(client, "crash") == 1  # the journal landed, the rollups moved …
    assert _row(client, "crash")[0][3] == "collector"  # … and the row is not the new version yet

    restarted = _pipeline(client, tmp_path)  # re-reads the batch in flight under the same tokens
    restarted.stop()
    assert _row(client, "crash") == [("ChatOpenAI", 1200, 1024, "instrumentation", _OUR_COST, True)]
    assert _merges(client, "crash") == 1
    _assert_rollups_agree(client, "crash")


def test_a_worse_span_arriving_later_changes_nothing(client, tmp_path):
    app, langsmith = _App("worse"), _App("worse")
    pipeline = _pipeline(client, tmp_path)
    pipeline.accept(app.span("chat gpt-4o-mini", _OURS, "chatcmpl-13"))
    pipeline.accept(langsmith.span("ChatOpenAI", _LANGSMITH, "chatcmpl-13"))
    pipeline.stop()
    restarted = _pipeline(client, tmp_path)
    restarted.accept(langsmith.span("ChatOpenAI", _LANGSMITH, "chatcmpl-13"))  # another worse one, after a restart
    restarted.stop()
    assert _row(client, "worse") == [("chat gpt-4o-mini", 1200, 1024, "instrumentation", _OUR_COST, False)]
    assert _merges(client, "worse") == 0
    _assert_rollups_agree(client, "worse")


@pytest.mark.parametrize("order", ["together", "later"])
def test_the_row_holds_the_same_record_whether_the_spans_arrive_together_or_apart(client, tmp_path, order):
    service = f"order-{order}"
    app, langsmith = _App(service), _App(service)
    pipeline = _pipeline(client, tmp_path)
    theirs = langsmith.span("ChatOpenAI", _LANGSMITH, f"chatcmpl-14-{order}")
    ours = app.span("chat gpt-4o-mini", _OURS, f"chatcmpl-14-{order}")
    if order == "together":
        theirs.resource_spans.extend(ours.resource_spans)
        pipeline.accept(theirs)
    else:
        pipeline.accept(theirs)
        pipeline.accept(ours)
    pipeline.stop()
    [(_, tokens, cached, source, cost, _)] = _row(client, service)
    assert (tokens, cached, source, cost) == (1200, 1024, "instrumentation", _OUR_COST)
    _assert_rollups_agree(client, service)


def test_the_better_span_extracted_by_a_worker_process_upgrades_the_row_too(client, tmp_path):
    app, langsmith = _App("worker"), _App("worker")
    queue = DiskQueue(tmp_path / "queue", ("store",), max_bytes=1 << 24)
    pipeline = Pipeline(ClickHouseStore(client), queue, flush_interval=0.05, extract_workers=1).start()
    pipeline._pool.min_bytes = 0  # type: ignore[union-attr]  # every request to the worker
    try:
        for request in (
            langsmith.span("ChatOpenAI", _LANGSMITH, "chatcmpl-15"),
            app.span("chat gpt-4o-mini", _OURS, "chatcmpl-15"),
        ):
            pipeline.accept(request, request.SerializeToString())
    finally:
        pipeline.stop()
    assert _row(client, "worker") == [("ChatOpenAI", 1200, 1024, "instrumentation", _OUR_COST, True)]
    _assert_rollups_agree(client, "worker")


def test_a_new_version_refused_after_its_journal_is_written_at_the_next_start(client, tmp_path):
    app, langsmith = _App("refused"), _App("refused")
    refusing = _pipeline(client, tmp_path, _Refused(client))
    refusing.accept(langsmith.span("ChatOpenAI", _LANGSMITH, "chatcmpl-16"))
    refusing.accept(app.span("chat gpt-4o-mini", _OURS, "chatcmpl-16"))
    refusing.stop()
    assert refusing.counters()["dropped_clickhouse_rejected_upgraded_calls"] == 1
    assert _row(client, "refused")[0][3] == "collector"  # the rollups moved, the row did not

    _pipeline(client, tmp_path).stop()  # the next start writes it
    assert _row(client, "refused") == [("ChatOpenAI", 1200, 1024, "instrumentation", _OUR_COST, True)]
    assert _merges(client, "refused") == 1
    _assert_rollups_agree(client, "refused")
