# SPDX-License-Identifier: Apache-2.0
"""The named queries that read the daily rollups (llm_usage_daily, llm_session_costs) answer exactly what the same
question asked of `llm_calls FINAL` answers: costs to the last digit, counts, orders and limits, over calls of
several tenants and days with errors, unpriced calls, calls without usage, and a re-pricing that moved some of
them. And a rollup's rows grow with its groups, not with the calls in them."""

from __future__ import annotations

from decimal import Decimal
from time import time_ns
from typing import Any

import pytest

from llmledger.collector.exporters.clickhouse import migrations
from llmledger.collector.exporters.clickhouse.queries import named_query
from llmledger.collector.exporters.clickhouse.writer import insert_llm_calls
from llmledger.collector.llm_calls import LlmCall
from llmledger.collector.repricing import Repricer, Window

from ...repricing.conftest import ROLLUPS, price_file, priced_calls  # noqa: F401  (the fixture, shared)

_MINUTE = 60 * 10**9
_HOUR = 60 * _MINUTE

PRICES_A = """
prices:
  - provider: acme
    model: acme-chat
    input: 1.00
    output: 2.00
    cache_read: 0.50
"""
# Dearer input and output, cheaper cache reads; acme-mini, unpriced under A, gets a price.
PRICES_B = """
prices:
  - provider: acme
    model: acme-chat
    input: 2.00
    output: 3.00
    cache_read: 0.25
  - provider: acme
    model: acme-mini
    input: 0.10
    output: 0.40
"""

# The question each rewritten query answers, asked of the fact table. `$W` is its window and filters as the query
# had them when it read llm_usage_hourly: a call counts from the hour `days` ago, as in every named query.
_HOURLY_WINDOW = """({tenant:String} = '' OR Tenant = {tenant:String})
    AND ({service:String} = '' OR ServiceName = {service:String})
    AND ({feature:String} = '' OR Feature = {feature:String})
    AND toStartOfHour(Timestamp) >= toStartOfHour(now() - toIntervalDay({days:UInt32}))"""
_FAILED = "(StatusCode IN ('Error', 'STATUS_CODE_ERROR') OR ErrorType != '')"
REFERENCE = {
    "cache_savings": """
        SELECT Provider, Model, sum(CacheSavings) AS s, sum(CacheReadInputTokens) AS c, sum(InputTokens) AS i,
            round(if(i = 0, 0, c / i), 4)
        FROM llm_calls FINAL WHERE $W GROUP BY Provider, Model ORDER BY s DESC, Provider, Model""",
    "model_usage_daily": """
        SELECT toDate(Timestamp) AS day, Model, sum(InputTokens), sum(OutputTokens),
            sum(InputTokens) + sum(OutputTokens), sum(TotalCost) AS s, count(), uniqIf(TraceId, TraceId != '')
        FROM llm_calls FINAL WHERE $W GROUP BY day, Model ORDER BY day, s DESC, Model""",
    "spend_by_feature": """
        SELECT Feature, sum(TotalCost) AS s, count(), uniqIf(UserId, UserId != '')
        FROM llm_calls FINAL WHERE $W GROUP BY Feature ORDER BY s DESC, Feature""",
    "spend_by_model": """
        SELECT Provider, Model, sum(TotalCost) AS s, count(), sum(InputTokens), sum(OutputTokens),
            sum(InputTokens) + sum(OutputTokens), countIf(CostSource = 'unpriced')
        FROM llm_calls FINAL WHERE $W GROUP BY Provider, Model ORDER BY s DESC, Provider, Model
        LIMIT {limit:UInt32}""",
    "spend_by_provider": """
        SELECT Provider, sum(TotalCost) AS s, count(), sum(InputTokens) + sum(OutputTokens),
            countIf(CostSource = 'unpriced')
        FROM llm_calls FINAL WHERE $W GROUP BY Provider ORDER BY s DESC, Provider""",
    "spend_by_service": """
        SELECT ServiceName, Environment, sum(TotalCost) AS s, count()
        FROM llm_calls FINAL WHERE $W GROUP BY ServiceName, Environment ORDER BY s DESC, ServiceName, Environment""",
    "spend_by_tenant": """
        SELECT Tenant, sum(TotalCost) AS s, count(), uniqIf(UserId, UserId != '')
        FROM llm_calls FINAL WHERE $W GROUP BY Tenant ORDER BY s DESC, Tenant""",
    "spend_over_time": """
        SELECT toStartOfInterval(toStartOfHour(Timestamp), toIntervalHour({bucket_hours:UInt32})) AS period,
            sum(TotalCost), count()
        FROM llm_calls FINAL WHERE $W GROUP BY period ORDER BY period""",
    "token_mix": """
        SELECT toStartOfInterval(toStartOfHour(Timestamp), toIntervalHour({bucket_hours:UInt32})) AS period,
            sum(InputTokens) - sum(CacheReadInputTokens) - sum(CacheCreationInputTokens),
            sum(CacheReadInputTokens), sum(CacheCreationInputTokens),
            sum(OutputTokens) - sum(ReasoningOutputTokens), sum(ReasoningOutputTokens)
        FROM llm_calls FINAL WHERE $W GROUP BY period ORDER BY period""",
    "unit_economics": """
        SELECT Feature, count() AS calls, uniqIf(TraceId, TraceId != '') AS traces, sum(TotalCost) AS s,
            s / calls, if(traces = 0, NULL, s / traces)
        FROM llm_calls FINAL WHERE $W GROUP BY Feature ORDER BY s DESC, Feature""",
    "total_spend": f"""
        WITH toStartOfHour(now() - toIntervalDay({{days:UInt32}})) AS start, toStartOfHour(Timestamp) AS hour
        SELECT sumIf(TotalCost, hour >= start), countIf(hour >= start),
            sumIf(TotalCost, hour < start), countIf(hour < start),
            sumIf(InputTokens, hour >= start), sumIf(OutputTokens, hour >= start),
            sumIf(CacheReadInputTokens, hour >= start), sumIf(CacheSavings, hour >= start),
            countIf({_FAILED} AND hour >= start), countIf(CostSource = 'unpriced' AND hour >= start),
            countIf(NOT UsageComplete AND hour >= start)
        FROM llm_calls FINAL
        WHERE ({{tenant:String}} = '' OR Tenant = {{tenant:String}})
          AND ({{service:String}} = '' OR ServiceName = {{service:String}})
          AND ({{feature:String}} = '' OR Feature = {{feature:String}})
          AND hour >= start - toIntervalDay({{days:UInt32}})""",
    "wasted_spend": f"""
        SELECT Provider, Model, count(), countIf({_FAILED}) AS failed, sumIf(TotalCost, {_FAILED}) AS failed_usd,
            countIf(CostSource = 'unpriced' AND UsageComplete) AS unpriced,
            sumIf(toUInt64(InputTokens) + OutputTokens, CostSource = 'unpriced' AND UsageComplete),
            countIf(NOT UsageComplete) AS missing
        FROM llm_calls FINAL
        WHERE ({{tenant:String}} = '' OR Tenant = {{tenant:String}})
          AND Timestamp >= toStartOfHour(now() - toIntervalDay({{days:UInt32}}))
        GROUP BY Provider, Model
        HAVING failed > 0 OR unpriced > 0 OR missing > 0
        ORDER BY failed_usd DESC, unpriced DESC, missing DESC, Provider, Model""",
    "spend_by_attribute": """
        SELECT Attributes[{key:String}] AS value, sum(TotalCost) AS s, count()
        FROM llm_calls FINAL
        WHERE ({tenant:String} = '' OR Tenant = {tenant:String})
          AND Timestamp >= toStartOfHour(now() - toIntervalDay({days:UInt32}))
        GROUP BY value ORDER BY s DESC, value""",
    "session_costs": """
        SELECT SessionId, sum(TotalCost) AS s, count(), uniqExact(TraceId), min(Timestamp), max(Timestamp)
        FROM llm_calls FINAL
        WHERE ({tenant:String} = '' OR Tenant = {tenant:String})
          AND Timestamp >= toStartOfHour(now() - toIntervalDay({days:UInt32})) AND SessionId != ''
        GROUP BY SessionId ORDER BY s DESC, SessionId LIMIT {limit:UInt32}""",
}

# Each query under its defaults, and windows, filters and buckets that cut through days and hours.
CASES = [
    {},
    {"days": "1"},
    {"days": "2"},
    {"days": "2", "tenant": "globex"},
    {"days": "3", "service": "search"},
    {"days": "3", "feature": "answer", "tenant": "acme"},
    {"days": "0"},
    {"days": "2", "bucket_hours": "6"},
    {"days": "3", "bucket_hours": "48"},
    {"days": "4", "limit": "2"},
    {"days": "3", "key": "tier"},
    {"days": "2", "key": "region", "tenant": "acme"},
]


def _calls(now: int) -> list[LlmCall]:
    """Calls every 37 minutes over the last four days, across two tenants, three services, three features and
    two models (one unpriced under the first prices); some failed, some without usage."""
    calls = []
    for index in range(160):
        model = "acme-mini" if index % 4 == 3 else "acme-chat"
        calls.append(
            LlmCall(
                timestamp_ns=now - index * 37 * _MINUTE - 5 * _MINUTE,
                trace_id=f"{index // 3 + 1:032x}",
                span_id=f"{index + 1:016x}",
                tenant="acme" if index % 3 else "globex",
                service_name=["support-bot", "search", "triage"][index % 3 if index % 2 else 0],
                environment="prod" if index % 5 else "staging",
                feature=["answer", "summarize", "classify"][index % 3],
                user_id=f"user-{index % 7}" if index % 11 else "",
                session_id=f"session-{index // 9}" if index % 13 else "",
                provider="acme",
                operation="chat",
                request_model=model,
                response_model=model,
                duration_ms=100.0 + index,
                status_code="Error" if index % 10 == 9 else "Ok",
                error_type="RateLimitError" if index % 10 == 9 else "",
                usage_complete=index % 17 != 16,
                input_tokens=1000 + 7 * index,
                output_tokens=300 + 3 * index,
                cache_read_input_tokens=200 if index % 2 else 0,
                cache_creation_input_tokens=50 if index % 6 == 1 else 0,
                reasoning_output_tokens=20 if index % 5 == 2 else 0,
                attributes={
                    **({"team": ["core", "growth", ""][index % 3]} if index % 4 else {}),
                    **({"tier": "gold" if index % 2 else "free"} if index % 5 else {}),
                },
            )
        )
    return calls


@pytest.fixture
def loaded(client, price_file) -> int:  # noqa: F811
    for table in ("llm_calls", *ROLLUPS, "llm_call_repricings"):
        client.command(f"TRUNCATE TABLE {table}")
    price_file(PRICES_A)
    now = time_ns()
    calls, used = priced_calls(_calls(now))
    insert_llm_calls(client, calls, prices=used)
    price_file(PRICES_B)
    Repricer(client).run(Window(now - 50 * _HOUR, now), reason="contract prices", price_source="prices B")
    return now


def _answer(client, sql: str, parameters: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in client.query(sql, parameters=parameters).result_rows]


def test_every_rewritten_query_answers_as_the_fact_table(client, loaded):
    assert int(client.command("SELECT count() FROM llm_call_repricings")) > 0  # the re-pricing changed calls
    differences = []
    for name, reference in REFERENCE.items():
        query = named_query(name)
        for case in CASES:
            parameters = query.bind(
                {key: value for key, value in case.items() if key in {param.name for param in query.params}}
            )
            expected = _answer(client, reference.replace("$W", _HOURLY_WINDOW), parameters)
            got = _answer(client, query.sql, parameters)
            if got != expected:
                differences.append((name, case, got, expected))
    assert not differences, differences[0]


def test_the_answers_cover_failures_unpriced_calls_and_missing_usage(client, loaded):
    query = named_query("wasted_spend")
    rows = _answer(client, query.sql, query.bind({"days": "5"}))
    assert sum(row[3] for row in rows) > 0 and sum(row[4] for row in rows) > Decimal(0)
    assert sum(row[5] for row in rows) > 0 and sum(row[7] for row in rows) > 0


def test_a_group_called_many_times_is_one_row_a_day(client):
    for table in ("llm_calls", *ROLLUPS):
        client.command(f"TRUNCATE TABLE {table}")
    now = time_ns()
    noon = now - now % (24 * _HOUR) - 36 * _HOUR  # yesterday, 12:00 UTC
    for batch in range(5):
        insert_llm_calls(
            client,
            [
                LlmCall(
                    timestamp_ns=noon + (batch * 200 + index) * _MINUTE // 20,
                    trace_id=f"{batch * 200 + index:032x}",
                    span_id=f"{batch * 200 + index:016x}",
                    tenant="acme",
                    service_name="support-bot",
                    session_id="session-1",
                    provider="acme",
                    request_model="acme-chat",
                    input_tokens=100,
                    attributes={"team": "core"},
                )
                for index in range(200)
            ],
        )
    for table in ("llm_usage_daily", "llm_session_costs", "llm_attribute_costs"):
        client.command(f"OPTIMIZE TABLE {table} FINAL")
        assert int(client.command(f"SELECT count() FROM {table}")) == 1, table
    assert int(client.command("SELECT sum(Calls) FROM llm_usage_daily")) == 1000


def test_calls_stored_before_the_rollups_existed_are_copied_once(clickhouse):
    # A database at migration 0017 holding calls; 0018 and 0019 then fill their rollups from them, and running
    # every migration statement again copies nothing twice.
    name = f"before_daily_{time_ns() % 10**9}"
    everything = migrations.migrations()
    older = [m for m in everything if m.name < "0018"]
    admin = clickhouse.client
    admin.command(f"CREATE DATABASE {name}")
    try:
        for migration in older:
            for statement in migration.statements(name):
                admin.command(statement)
        db = clickhouse.connect(name)
        now = time_ns()
        insert_llm_calls(db, _calls(now))
        for _ in range(2):
            for migration in everything:
                if migration.name >= "0018":
                    migrations.run(admin, migration, name)
        daily = db.query("SELECT sum(Calls), sum(TotalCost), sum(UnpricedUsageCalls) FROM llm_usage_daily").result_rows
        facts = db.query(
            "SELECT count(), sum(TotalCost), countIf(CostSource = 'unpriced' AND UsageComplete) FROM llm_calls FINAL"
        ).result_rows
        assert daily == facts
        sessions = db.query("SELECT sum(Calls), sum(TotalCost) FROM llm_session_costs").result_rows
        assert (
            sessions
            == db.query("SELECT count(), sum(TotalCost) FROM llm_calls FINAL WHERE SessionId != ''").result_rows
        )
        values = db.query("SELECT sum(Calls), sum(TotalCost) FROM llm_attribute_costs WHERE Key = 'team'").result_rows
        assert (
            values
            == db.query(
                "SELECT count(), sum(TotalCost) FROM llm_calls FINAL WHERE Attributes['team'] != ''"
            ).result_rows
        )
        # Calls inserted afterwards are the views' to count, once.
        insert_llm_calls(db, [_calls(now + _HOUR)[0]])
        assert db.command("SELECT sum(Calls) FROM llm_usage_daily") == len(_calls(now)) + 1
    finally:
        admin.command(f"DROP DATABASE IF EXISTS {name} SYNC")
