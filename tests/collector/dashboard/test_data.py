# SPDX-License-Identifier: Apache-2.0
"""The dashboard's numbers are the named queries' and agree with `llm_calls`; its URL parameters are checked."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from llmledger.collector.dashboard import SECTIONS, VIEWS, BadFilter, Dashboard, Filters, client_runner, collect, parse


def calls_sum(client, where: str = "1", params=None) -> tuple[Decimal, int]:  # type: ignore[no-untyped-def]
    ((spend, count),) = client.query(
        "SELECT sum(TotalCost), count() FROM llm_calls FINAL "
        f"WHERE Timestamp >= toStartOfHour(now() - toIntervalDay(7)) AND {where}",
        parameters=params or {},
    ).result_rows
    return Decimal(spend), count


def test_every_view_has_its_sections_and_the_total_matches_the_calls(loaded):
    run = client_runner(loaded)
    for view in VIEWS:
        document = collect(run, Filters(view=view))
        assert document["views"] == [view]
        spend, count = calls_sum(loaded)
        assert (document["total"]["spend_usd"], document["total"]["calls"]) == (spend, count)


@pytest.mark.parametrize(
    ("field", "column"), [("tenant", "Tenant"), ("service", "ServiceName"), ("feature", "Feature")]
)
def test_a_filter_narrows_every_section_to_its_calls(loaded, field, column):
    value = {"tenant": "globex", "service": "search", "feature": "summarize"}[field]
    document = collect(client_runner(loaded), parse(f"{field}={value}&view=breakdown"))
    spend, count = calls_sum(loaded, f"{column} = {{v:String}}", {"v": value})
    assert (document["total"]["spend_usd"], document["total"]["calls"]) == (spend, count)
    assert sum(row["spend_usd"] for row in document["spend_by_service"]) == spend
    assert sum(row["calls"] for row in document["spend_by_feature"]) == count


def test_unpriced_and_usage_missing_calls_are_listed_apart(loaded, week_of_calls):
    document = collect(client_runner(loaded), Filters(view="quality"))
    unpriced = [c for c in week_of_calls if c.cost_source == "unpriced" and c.usage_complete]
    missing = [c for c in week_of_calls if not c.usage_complete]
    assert sum(row["calls"] for row in document["unpriced"]) == len(unpriced) > 0
    assert sum(row["calls"] for row in document["usage_missing"]) == len(missing) > 0
    assert (document["total"]["unpriced_calls"], document["total"]["usage_missing_calls"]) == (
        len(unpriced),
        len(missing),
    )


def test_traces_and_calls_link_to_jaeger_and_are_the_costliest(loaded):
    document = collect(client_runner(loaded), Filters(view="traces"), jaeger_url="http://jaeger.internal:16686/")
    ((trace, spend),) = loaded.query(
        "SELECT TraceId, sum(TotalCost) AS s FROM llm_calls FINAL "
        "WHERE Timestamp >= toStartOfHour(now() - toIntervalDay(7)) GROUP BY TraceId ORDER BY s DESC, TraceId LIMIT 1"
    ).result_rows
    top = document["trace_costs"][0]
    assert (top["trace_id"], top["spend_usd"], top["link"]) == (
        trace,
        spend,
        f"http://jaeger.internal:16686/trace/{trace}",
    )
    call = document["top_calls"][0]
    assert call["link"] == f"http://jaeger.internal:16686/trace/{call['trace_id']}?uiFind={call['span_id']}"
    spends = [c["spend_usd"] for c in document["top_calls"]]
    assert spends == sorted(spends, reverse=True)


def test_without_a_jaeger_url_nothing_is_linked(loaded):
    document = collect(client_runner(loaded), Filters(view="traces"))
    assert {row["link"] for row in document["trace_costs"] + document["top_calls"]} == {""}


def test_an_empty_database_gives_every_section_empty(clickhouse, empty):
    run = client_runner(clickhouse.connect(empty))
    document = collect(run, Filters(), views=VIEWS)
    assert document["total"]["calls"] == 0
    assert all(document[section] == [] for view in VIEWS for section in SECTIONS[view])


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("view=costs", "view='costs' is not one of overview"),
        ("days=0", "days='0' is not a whole number of days from 1 to 800"),
        ("days=7d", "days='7d'"),
        ("tenant=a&tenant=b", "parameter tenant is given more than once"),
        ("token=secret", "unknown parameter 'token'"),
        ("service=" + "x" * 300, "service is longer than 256 characters"),
    ],
)
def test_a_bad_url_parameter_is_named(query, message):
    with pytest.raises(BadFilter, match=message.replace("(", r"\(").replace("[", r"\[")):
        parse(query)


def test_the_data_route_answers_400_naming_the_parameter_and_503_without_clickhouse(loaded):
    dashboard = Dashboard(client_runner(loaded))
    status, _, body = dashboard.data("days=abc")
    assert status == 400 and "days='abc'" in json.loads(body)["error"]

    def broken(sql, params):  # type: ignore[no-untyped-def]
        from llmledger.collector.exporters.clickhouse.errors import ConnectionFailed

        raise ConnectionFailed("cannot reach ClickHouse at http://127.0.0.1:1: Connection refused")

    status, _, body = Dashboard(broken).data("")
    assert status == 503 and "Connection refused" in json.loads(body)["error"]


def test_money_is_sent_as_decimal_strings(loaded):
    status, content_type, body = Dashboard(client_runner(loaded)).data("view=overview")
    document = json.loads(body)
    assert (status, content_type) == (200, "application/json")
    assert isinstance(document["total"]["spend_usd"], str)
    assert Decimal(document["total"]["spend_usd"]) == calls_sum(loaded)[0]


def test_a_view_comes_in_parts_that_add_up_to_the_whole(loaded):
    dashboard = Dashboard(client_runner(loaded), jaeger_url="http://jaeger.internal:16686")
    whole = json.loads(dashboard.data("view=traces&tenant=acme")[2])
    head = json.loads(dashboard.data("view=traces&tenant=acme&part=head")[2])
    assert head["total"] == whole["total"] and head["choices"] == whole["choices"]
    assert "trace_costs" not in head and head["views"] == ["traces"]
    for section in SECTIONS["traces"]:
        part = json.loads(dashboard.data(f"view=traces&tenant=acme&part={section}")[2])
        assert part == {"section": section, "rows": whole[section]}
    status, _, body = dashboard.data("view=traces&part=spend_by_model")
    assert status == 400
    assert json.loads(body)["error"] == (
        "bad dashboard URL: part='spend_by_model' is not head or a section of view traces (trace_costs, top_calls)"
    )
