# SPDX-License-Identifier: Apache-2.0
"""The SQL-only schema (migration 0008, `llmledger schema apply --sql-only`): applied only when asked for, one
writer of llm_calls per database, and price rules that find the price the collector finds.

The view itself is tested end to end against the real OpenTelemetry Collector and rotel
(tests/collector/peers/test_sql_only.py): same rows and answers as the llmledger collector.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import pytest
from genai_prices import types as genai

from llmledger._core import price_data, prices
from llmledger.collector.exporters.clickhouse import migrations, price_rules
from llmledger.collector.exporters.clickhouse.errors import BadQuery
from llmledger.collector.exporters.clickhouse.writer import insert_llm_calls
from llmledger.collector.llm_calls import CallColumns, LlmCall
from tests.collector.running import start_collector

SQL_ONLY = "0008_llm_calls_from_otel_traces"


@pytest.fixture
def fresh_database(clickhouse):
    name = f"sql_only_{uuid.uuid4().hex[:8]}"
    yield name
    clickhouse.client.command(f"DROP DATABASE IF EXISTS {name} SYNC")


def _tables(client: Any, database: str) -> set[str]:
    found = client.query("SELECT name FROM system.tables WHERE database = {d:String}", parameters={"d": database})
    return {row[0] for row in found.result_rows}


def test_the_sql_only_schema_is_applied_only_when_asked_for_and_brings_otel_traces():
    names = [m.name for m in migrations.migrations(sql_only=True)]
    assert SQL_ONLY in names
    assert "0004_otel_traces" in names  # the table it reads, for a writer that creates none (rotel)
    assert SQL_ONLY not in [m.name for m in migrations.migrations(raw_spans=True)]
    assert "llm_calls_from_otel_traces_mv" in migrations.render("analytics", sql_only=True)
    assert "llm_calls_from_otel_traces_mv" not in migrations.render("analytics", raw_spans=True)


def test_applying_it_twice_changes_nothing_the_second_time(clickhouse, fresh_database):
    first = migrations.apply(clickhouse.client, fresh_database, sql_only=True)
    assert first == [m.name for m in migrations.migrations(sql_only=True)]
    assert migrations.apply(clickhouse.client, fresh_database, sql_only=True) == []
    assert {"otel_traces", "llm_price_rules", "llm_calls_from_otel_traces_mv"} <= _tables(
        clickhouse.client, fresh_database
    )
    for migration in migrations.migrations(sql_only=True):
        if migration.optional == SQL_ONLY:
            migrations.run(clickhouse.client, migration, fresh_database)  # idempotent even when not recorded


def test_a_llmledger_collector_refuses_a_database_that_derives_its_calls_in_sql(clickhouse, fresh_database):
    migrations.apply(clickhouse.client, fresh_database, sql_only=True)
    with pytest.raises(BadQuery, match=f"database {fresh_database} derives llm_calls from otel_traces"):
        migrations.refuse_sql_only(clickhouse.client, fresh_database)
    with pytest.raises(AssertionError, match="count each call twice"):  # it exits at start, saying why
        start_collector(["--clickhouse-url", clickhouse.url, "--database", fresh_database])


def test_sql_only_refuses_a_database_whose_calls_a_collector_wrote(clickhouse, fresh_database):
    migrations.apply(clickhouse.client, fresh_database)
    call = LlmCall(timestamp_ns=time.time_ns(), trace_id="a" * 32, span_id="b" * 16, provider="openai")
    insert_llm_calls(clickhouse.client, CallColumns.of([call]), database=fresh_database)

    with pytest.raises(BadQuery, match="already holds LLM calls a llmledger collector wrote"):
        migrations.apply(clickhouse.client, fresh_database, sql_only=True)
    assert SQL_ONLY not in migrations.applied(clickhouse.client, fresh_database)
    migrations.refuse_sql_only(clickhouse.client, fresh_database)  # the collector may go on writing it


def test_a_clause_becomes_patterns_that_must_all_match_and_exclusions():
    gemini = genai.ClauseAnd(
        and_=[genai.ClauseStartsWith(starts_with="Gemini-2.5-pro"), genai.ClauseRegex(regex="^(?!.*-tts(?:$|-))")]
    )
    assert price_rules._alternatives(gemini) == [(("^gemini-2\\.5-pro",), ("^(?:.*-tts(?:$|-))",))]
    either = genai.ClauseOr(or_=[genai.ClauseEquals(equals="gpt-4o"), genai.ClauseContains(contains="gpt-4o-2")])
    assert price_rules._alternatives(either) == [(("^gpt-4o$",), ()), (("gpt-4o-2",), ())]
    assert price_rules._alternatives(genai.ClauseRegex(regex="(?<=x)y")) is None  # RE2 has no lookbehind


def _first_rule(rules: list[price_rules.Rule], model: str) -> str:
    for patterns, excludes, price_id in rules:
        if all(re.search(p, model) for p in patterns) and not any(re.search(x, model) for x in excludes):
            return price_id
    return ""


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gcp.vertex_ai", "mistral_ai", "azure.ai.openai"])
def test_the_rules_find_the_price_the_collector_finds_for_every_model_id_genai_prices_lists(provider):
    now = time.time_ns()
    built = price_rules.build(now)
    rules = built.rules[provider]
    models = {
        model.id.lower()
        for source in price_data.in_force().snapshot.providers
        if source.id == prices._GENAI_PRICES_PROVIDER[provider]
        for model in source.models
    }
    assert len(models) > 10
    wrong = {}
    for model in sorted(models):
        expected = prices.lookup_ns(provider, model, now)
        found = _first_rule(rules, model)
        if (expected.id if expected else "") != found:
            wrong[model] = (expected and expected.id, found)
    assert wrong == {}
