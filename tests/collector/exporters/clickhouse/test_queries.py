# SPDX-License-Identifier: Apache-2.0
"""Every named query runs with its defaults, and the rollup-based ones agree with the fact table."""

from __future__ import annotations

from decimal import Decimal

import pytest

from llmledger.collector.exporters.clickhouse.errors import BadQuery
from llmledger.collector.exporters.clickhouse.queries import named_queries, named_query
from llmledger.collector.exporters.clickhouse.writer import insert_llm_calls

# schemas.md §2: the fifteen cost questions (8 also has the attribute variant), and spend by tenant (the dashboard's).
QUESTIONS = {
    "total_spend",
    "spend_over_time",
    "spend_by_model",
    "model_usage_daily",
    "spend_by_provider",
    "spend_by_service",
    "spend_by_user",
    "spend_by_tenant",
    "spend_by_feature",
    "spend_by_attribute",
    "trace_costs",
    "session_costs",
    "unit_economics",
    "token_mix",
    "cache_savings",
    "budget_burn",
    "wasted_spend",
}
# Questions about prices rather than spend (docs/repricing.md): empty until a re-pricing or a price change.
PRICE_QUESTIONS = {"repricings", "price_changes"}


@pytest.fixture(scope="module", autouse=True)
def loaded(client, sample_calls):
    insert_llm_calls(client, sample_calls)


def test_every_question_of_the_design_has_a_named_query():
    assert set(named_queries()) == QUESTIONS | PRICE_QUESTIONS
    assert all(query.title != query.name for query in named_queries().values())


@pytest.mark.parametrize("name", sorted(QUESTIONS | PRICE_QUESTIONS))
def test_every_named_query_runs_with_its_defaults(client, name):
    query = named_query(name)
    result = client.query(query.sql, parameters=query.bind())
    if name not in {"budget_burn", *PRICE_QUESTIONS}:  # the sample may fall before this month began
        assert result.result_rows, f"{name} returned nothing for three days of calls"


def test_spend_over_time_adds_up_to_the_total(client, sample_calls):
    query = named_query("spend_over_time")
    rows = client.query(query.sql, parameters=query.bind({"bucket_hours": "6"})).result_rows
    assert sum((row[1] for row in rows), Decimal(0)) == sum((c.total_cost for c in sample_calls), Decimal(0))
    assert sum(row[2] for row in rows) == len(sample_calls)


def test_wasted_spend_counts_failed_and_unpriced_calls(client, sample_calls):
    query = named_query("wasted_spend")
    rows = client.query(query.sql, parameters=query.bind()).result_rows
    assert sum(row[3] for row in rows) == sum(1 for c in sample_calls if c.status_code == "Error")
    assert sum(row[5] for row in rows) == sum(1 for c in sample_calls if c.cost_source == "unpriced")


def test_parameters_are_checked_before_the_server_sees_them():
    query = named_query("spend_by_user")
    assert query.bind({"days": "7", "tenant": "acme"}) == {
        "days": 7,
        "tenant": "acme",
        "service": "",
        "feature": "",
        "limit": 50,
    }
    with pytest.raises(BadQuery, match="must not be negative"):
        query.bind({"limit": "-1"})
