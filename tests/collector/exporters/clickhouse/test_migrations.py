# SPDX-License-Identifier: Apache-2.0
"""Migrations apply in order, once, idempotently; otel_traces is exactly the Collector exporter's table."""

from __future__ import annotations

import uuid

import pytest

from llmledger.collector.exporters.clickhouse import migrations
from llmledger.collector.exporters.clickhouse.client import connect
from llmledger.collector.exporters.clickhouse.errors import BadQuery
from llmledger.collector.exporters.clickhouse.writer import insert_llm_calls
from llmledger.collector.extract import Extractor
from llmledger.collector.llm_calls import CallColumns

from ...repricing.conftest import ROLLUPS

# exporter/clickhouseexporter/internal/sqltemplates/traces_table.sql (see research/jaeger.md §5)
OTEL_TRACES_COLUMNS = [
    ("Timestamp", "DateTime64(9)"),
    ("TraceId", "String"),
    ("SpanId", "String"),
    ("ParentSpanId", "String"),
    ("TraceState", "String"),
    ("SpanName", "LowCardinality(String)"),
    ("SpanKind", "LowCardinality(String)"),
    ("ServiceName", "LowCardinality(String)"),
    ("ResourceAttributes", "Map(LowCardinality(String), String)"),
    ("ScopeName", "String"),
    ("ScopeVersion", "String"),
    ("SpanAttributes", "Map(LowCardinality(String), String)"),
    ("Duration", "UInt64"),
    ("StatusCode", "LowCardinality(String)"),
    ("StatusMessage", "String"),
    ("Events.Timestamp", "Array(DateTime64(9))"),
    ("Events.Name", "Array(LowCardinality(String))"),
    ("Events.Attributes", "Array(Map(LowCardinality(String), String))"),
    ("Links.TraceId", "Array(String)"),
    ("Links.SpanId", "Array(String)"),
    ("Links.TraceState", "Array(String)"),
    ("Links.Attributes", "Array(Map(LowCardinality(String), String))"),
    ("ResourceAttributeItems", "Array(String)"),
    ("SpanAttributeItems", "Array(String)"),
]
OTEL_TRACES_TRACE_ID_TS_COLUMNS = [
    ("TraceId", "String"),
    ("Start", "SimpleAggregateFunction(min, DateTime)"),
    ("End", "SimpleAggregateFunction(max, DateTime)"),
]


def tables(client, database):
    rows = client.query("SELECT name FROM system.tables WHERE database = {d:String}", parameters={"d": database})
    return {row[0] for row in rows.result_rows}


def columns(client, database, table):
    return client.query(
        "SELECT name, type FROM system.columns WHERE database = {d:String} AND table = {t:String} ORDER BY position",
        parameters={"d": database, "t": table},
    ).result_rows


@pytest.fixture
def fresh_database(clickhouse):
    name = f"migrations_{uuid.uuid4().hex[:8]}"
    yield name
    clickhouse.client.command(f"DROP DATABASE IF EXISTS {name} SYNC")


def test_migrations_are_numbered_in_order_and_raw_spans_are_optional():
    names = [m.name for m in migrations.migrations(raw_spans=True)]
    assert names == sorted(names)
    assert [m.name for m in migrations.migrations()] == [n for n in names if "otel_traces" not in n]


def test_applying_twice_creates_everything_once_and_then_does_nothing(clickhouse, fresh_database):
    first = migrations.apply(clickhouse.client, fresh_database)
    second = migrations.apply(clickhouse.client, fresh_database)

    assert first == [m.name for m in migrations.migrations()]
    assert second == []
    assert migrations.applied(clickhouse.client, fresh_database) == set(first)
    assert tables(clickhouse.client, fresh_database) == {
        "llmledger_migrations",
        "llm_calls",
        "llm_usage_hourly",
        "llm_usage_hourly_mv",
        "llm_usage_daily_user",
        "llm_usage_daily_user_mv",
        "llm_trace_costs",
        "llm_trace_costs_mv",
        "llm_model_prices",
        "llm_budget_usage",
        "llm_budget_usage_mv",
        "llm_budgets",
        "llm_budget_alerts",
        "llm_call_repricings",
        "llm_usage_hourly_repricing_mv",
        "llm_usage_daily_user_repricing_mv",
        "llm_trace_costs_repricing_mv",
        "llm_budget_usage_repricing_mv",
        "llm_repricing_runs",
        "llm_price_changes",
        "llm_price_watch",
        "llm_call_spans",
        "llm_spend_rate_alerts",
        "llm_usage_daily",
        "llm_usage_daily_mv",
        "llm_usage_daily_repricing_mv",
        "llmledger_backfills",
        "llm_session_costs",
        "llm_session_costs_mv",
        "llm_session_costs_repricing_mv",
        "llm_attribute_costs",
        "llm_attribute_costs_mv",
        "llm_attribute_costs_repricing_mv",
        "llm_call_deliveries",
        "llm_call_deliveries_mv",
        "llm_call_retractions",
        "llm_delivery_sweeps",
        *(f"{rollup}_retraction_mv" for rollup in ROLLUPS),
        *(
            f"{rollup}{suffix}"
            for rollup in ("llm_waste_hourly", "llm_session_costs_hourly", "llm_attribute_costs_hourly")
            for suffix in ("", "_mv", "_repricing_mv")
        ),
    }


def test_every_statement_is_idempotent_even_when_not_recorded(clickhouse, fresh_database):
    # A run interrupted after its statements but before recording them must be able to run again.
    migrations.apply(clickhouse.client, fresh_database, raw_spans=True)
    for migration in migrations.migrations(raw_spans=True):
        migrations.run(clickhouse.client, migration, fresh_database)


def test_raw_spans_can_be_enabled_later(clickhouse, fresh_database):
    migrations.apply(clickhouse.client, fresh_database)
    assert migrations.apply(clickhouse.client, fresh_database, raw_spans=True) == ["0004_otel_traces"]
    assert {"otel_traces", "otel_traces_trace_id_ts", "otel_traces_trace_id_ts_mv"} <= tables(
        clickhouse.client, fresh_database
    )


def test_otel_traces_has_exactly_the_exporters_columns(client, database):
    assert columns(client, database, "otel_traces") == OTEL_TRACES_COLUMNS
    assert columns(client, database, "otel_traces_trace_id_ts") == OTEL_TRACES_TRACE_ID_TS_COLUMNS


def test_llm_calls_types_follow_the_schema_design(client, database):
    types = dict(columns(client, database, "llm_calls"))
    assert types["TotalCost"] == "Decimal(18, 12)"
    assert types["InputTokens"] == "UInt32"
    assert types["Tenant"] == "LowCardinality(String)"
    assert types["UserId"] == "String"
    engine = client.command(
        "SELECT engine_full FROM system.tables WHERE database = {d:String} AND name = 'llm_calls'",
        parameters={"d": database},
    )
    assert engine.startswith("ReplacingMergeTree(Version) PARTITION BY toYYYYMM(Timestamp)")
    assert "non_replicated_deduplication_window = 1000" in engine


def test_a_collector_sized_insert_is_written_as_a_compact_part(clickhouse, fresh_database):
    """Migration 0006: the collector's 50,000-row inserts (past the 10 MiB from which ClickHouse makes a part wide
    by default) are written as compact parts, the cheaper write; parts of 128 MiB and more are wide."""
    from benchmarks.collector_ingest import build_requests

    migrations.apply(clickhouse.client, fresh_database)
    calls, extractor = CallColumns(), Extractor()
    for body in build_requests(50_176):
        calls.extend(extractor.columns(body).columns)
    insert_llm_calls(connect(clickhouse.url, database=fresh_database), calls)
    part_type, uncompressed = clickhouse.client.query(
        "SELECT part_type, data_uncompressed_bytes FROM system.parts"
        " WHERE database = {d:String} AND table = 'llm_calls' AND active",
        parameters={"d": fresh_database},
    ).result_rows[0]
    assert uncompressed > 10 << 20  # wide, by ClickHouse's default
    assert part_type == "Compact"
    settings = clickhouse.client.command(
        "SELECT engine_full FROM system.tables WHERE database = {d:String} AND name = 'llm_calls'",
        parameters={"d": fresh_database},
    )
    assert "min_bytes_for_wide_part = 134217728" in settings


def test_render_prints_the_schema_for_the_named_database():
    sql = migrations.render("analytics", raw_spans=True)
    assert sql.startswith("CREATE DATABASE IF NOT EXISTS `analytics`;")
    assert "CREATE TABLE IF NOT EXISTS `analytics`.llm_calls" in sql
    assert "CREATE TABLE IF NOT EXISTS `analytics`.otel_traces" in sql
    assert "{database}" not in sql
    assert "otel_traces" not in migrations.render("analytics")


def test_a_database_name_cannot_carry_sql():
    with pytest.raises(BadQuery, match="letters, digits and underscores"):
        migrations.render("x; DROP TABLE y")


def test_a_semicolon_in_a_comment_does_not_end_a_statement():
    migration = migrations.Migration(
        "9999_x", "-- note: a; b;\nCREATE TABLE IF NOT EXISTS {database}.t -- why;\n(x UInt8) ENGINE = Memory;\n", None
    )
    assert migration.statements("db") == [
        "-- note: a; b;\nCREATE TABLE IF NOT EXISTS `db`.t -- why;\n(x UInt8) ENGINE = Memory"
    ]


def test_the_budget_rollup_is_filled_from_calls_stored_before_it_existed(clickhouse, fresh_database):
    from datetime import UTC, datetime
    from decimal import Decimal

    from llmledger.collector.exporters.clickhouse.writer import insert_llm_calls
    from llmledger.collector.llm_calls import LlmCall

    migrations.apply(clickhouse.client, fresh_database)
    now = int(datetime.now(UTC).timestamp()) * 10**9
    calls = [LlmCall(now, f"t{i}", f"s{i}", tenant="acme", total_cost=Decimal("0.25")) for i in range(4)]
    insert_llm_calls(clickhouse.client, calls, database=fresh_database)
    # As a database migrated before 0005: calls, but no budget rollup rows and no record of 0005.
    clickhouse.client.command(f"TRUNCATE TABLE {fresh_database}.llm_budget_usage")
    clickhouse.client.command(f"DELETE FROM {fresh_database}.llmledger_migrations WHERE Name = '0005_llm_budgets'")

    assert migrations.apply(clickhouse.client, fresh_database) == ["0005_llm_budgets"]
    budgets = next(m for m in migrations.migrations() if m.name == "0005_llm_budgets")
    for _ in range(2):  # and again, as an interrupted run would: nothing is copied twice
        for statement in budgets.statements(fresh_database):
            clickhouse.client.command(statement)
    (calls_count, spent), *_ = clickhouse.client.query(
        f"SELECT sum(Calls), sum(TotalCost) FROM {fresh_database}.llm_budget_usage"
    ).result_rows
    assert (calls_count, spent) == (4, Decimal(1))
