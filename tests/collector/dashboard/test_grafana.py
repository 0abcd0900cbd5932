# SPDX-License-Identifier: Apache-2.0
"""The Grafana dashboard: built from the named queries, committed as generated, and every panel's SQL runs
against ClickHouse once the plugin's macros and Grafana's variables are expanded as they expand them."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from llmledger.collector.dashboard.grafana import DATASOURCE_UID, PLUGIN, dashboard

GRAFANA = Path(__file__).resolve().parents[3] / "docs" / "deployments" / "grafana"


def expand(sql: str, start: datetime, end: datetime, interval_s: int, variables: dict[str, str]) -> str:
    """`sql` as grafana-clickhouse-datasource sends it: its macros (as documented in its pkg/macros) and Grafana's
    `${name:sqlstring}` variables (quoted, ' doubled)."""

    def date_time(moment: datetime) -> str:
        return f"toDateTime({int(moment.timestamp())})"

    def date(moment: datetime) -> str:
        return f"toDate('{moment:%Y-%m-%d}')"

    sql = re.sub(
        r"\$__timeFilter\((\w+)\)", lambda m: f"{m[1]} >= {date_time(start)} AND {m[1]} <= {date_time(end)}", sql
    )
    sql = re.sub(r"\$__dateFilter\((\w+)\)", lambda m: f"{m[1]} >= {date(start)} AND {m[1]} <= {date(end)}", sql)
    sql = re.sub(
        r"\$__timeInterval\((\w+)\)",
        lambda m: f"toStartOfInterval(toDateTime({m[1]}), INTERVAL {interval_s} second)",
        sql,
    )
    sql = sql.replace("$__fromTime", date_time(start)).replace("$__toTime", date_time(end))
    sql = sql.replace("$__interval_s", str(interval_s))
    sql = re.sub(r"\$\{(\w+):sqlstring\}", lambda m: "'" + variables[m[1]].replace("'", "''") + "'", sql)
    assert "$" not in sql, sql
    return sql


def panels() -> list[dict]:  # type: ignore[type-arg]
    return list(dashboard()["panels"])


def test_the_committed_dashboard_is_the_generated_one():
    committed = json.loads((GRAFANA / "llmledger.json").read_text())
    assert committed == dashboard(), "regenerate: python -m llmledger.collector.dashboard.grafana > " + str(
        GRAFANA / "llmledger.json"
    )


def test_provisioning_names_the_plugin_and_the_panels_data_source():
    sources = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "llmledger.yaml").read_text())
    (source,) = sources["datasources"]
    assert (source["type"], source["uid"]) == (PLUGIN, DATASOURCE_UID)
    variable = next(v for v in dashboard()["templating"]["list"] if v["name"] == "datasource")
    assert (variable["query"], variable["current"]["value"]) == (PLUGIN, DATASOURCE_UID)
    providers = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "llmledger.yaml").read_text())
    assert providers["providers"][0]["type"] == "file"


@pytest.mark.parametrize("panel", panels(), ids=lambda panel: panel["description"].rsplit(" ", 1)[-1])
@pytest.mark.parametrize("tenant", ["", "globex", "o'brien"])
def test_every_panel_runs_against_clickhouse(loaded, panel, tenant):
    end = datetime.now(UTC)
    sql = expand(
        panel["targets"][0]["rawSql"],
        end - timedelta(days=7),
        end,
        3600,
        {"tenant": tenant, "service": "", "feature": ""},
    )
    rows = loaded.query(sql).result_rows
    if tenant != "o'brien" and panel["description"] != "llmledger sql --query budget_burn":
        assert rows, f"{panel['title']} returned nothing"


def test_the_spend_panel_says_what_the_calls_cost_in_the_time_range(loaded):
    end = datetime.now(UTC)
    start = end - timedelta(days=7)
    total = next(p for p in panels() if p["description"].endswith("total_spend"))
    for tenant in ("", "acme"):
        sql = expand(total["targets"][0]["rawSql"], start, end, 3600, {"tenant": tenant, "service": "", "feature": ""})
        spend = loaded.query(sql).first_row[0]
        ((expected,),) = loaded.query(
            "SELECT sum(TotalCost) FROM llm_calls FINAL WHERE Timestamp >= toStartOfHour(now() - toIntervalDay(7)) "
            "AND ({t:String} = '' OR Tenant = {t:String})",
            parameters={"t": tenant},
        ).result_rows
        assert Decimal(spend) == Decimal(expected)


def test_trace_ids_link_into_jaeger():
    traces = next(p for p in panels() if p["description"].endswith("trace_costs"))
    (link,) = next(o for o in traces["fieldConfig"]["overrides"] if o["matcher"]["options"] == "trace_id")["properties"]
    assert link["value"][0]["url"] == "${jaeger_url}/trace/${__value.raw}"
