# SPDX-License-Identifier: Apache-2.0
"""The Grafana dashboard, built from the same named queries as the page, for the ClickHouse data source plugin
(`grafana-clickhouse-datasource`).

Each panel's SQL is a named query of `schemas/queries/` with its parameters turned into the plugin's macros and
Grafana's variables, so Grafana and the page answer the same question with the same SQL:

    Hour >= toStartOfHour(now() - toIntervalDay({days:UInt32}))      → $__timeFilter(Hour)
    Day >= toDate(now() - toIntervalDay({days:UInt32}))              → $__dateFilter(Day)
    Timestamp >= now() - toIntervalDay({days:UInt32})                → $__timeFilter(Timestamp)
    toStartOfInterval(Hour, toIntervalHour({bucket_hours:UInt32}))   → $__timeInterval(Hour)
    any other now() - toIntervalDay({days:UInt32})                   → $__fromTime (a window's start, named in WITH)
    Hour or Timestamp >= the window's start                          → … AND Hour (Timestamp) <= $__toTime
    Day > toDate(the window's start)                                 → … AND Day <= toDate($__toTime)
    any other {bucket_hours:UInt32}                                  → the panel's interval in hours
    any other {days:UInt32}                                          → the time range's length in whole days
    {tenant:String}, {service:String}, {feature:String}              → ${tenant:sqlstring}, … (text boxes; empty = all)
    {limit:UInt32}                                                   → its default

The queries that read whole days from the daily rollups (and the window's first day from the hourly rollup or
the calls) keep that form: their window starts at the range's start and ends with its last day, whole, where the
daily rollup answers for it (a range that ends in the past ends at the end of its last day there).

`dashboard()` is the JSON committed as `docs/deployments/grafana/llmledger.json` (a test keeps the two equal);
`python -m llmledger.collector.dashboard.grafana` prints it.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

from ..exporters.clickhouse.queries import named_query

DATASOURCE_UID = "llmledger-clickhouse"
PLUGIN = "grafana-clickhouse-datasource"
_TABLE, _TIME_SERIES = 1, 0  # the plugin's result formats
_RULES = (
    (r"Hour >= toStartOfHour\(now\(\) - toIntervalDay\(\{days:UInt32\}\)\)", "$__timeFilter(Hour)"),
    (r"Day >= toDate\(now\(\) - toIntervalDay\(\{days:UInt32\}\)\)", "$__dateFilter(Day)"),
    (r"Timestamp >= now\(\) - toIntervalDay\(\{days:UInt32\}\)", "$__timeFilter(Timestamp)"),
    (r"toStartOfInterval\(Hour, toIntervalHour\(\{bucket_hours:UInt32\}\)\)", "$__timeInterval(Hour)"),
    (r"now\(\) - toIntervalDay\(\{days:UInt32\}\)", "$__fromTime"),
    (r"\b(Hour|Timestamp) >= (period_start|since)\b", r"\1 >= \2 AND \1 <= $__toTime"),
    (r"\bDay > toDate\((period_start|since|previous_start)\)", r"Day > toDate(\1) AND Day <= toDate($__toTime)"),
    (r"\{bucket_hours:UInt32\}", "greatest(1, intDiv($__interval_s, 3600))"),
    (r"\{days:UInt32\}", "greatest(1, toUInt32(dateDiff('day', $__fromTime, $__toTime)))"),
    (r"\{(tenant|service|feature):String\}", r"${\1:sqlstring}"),
)
_LEFT = re.compile(r"(?<!\$)\{\w+:[\w()]+\}")

# (named query, title, panel type, width, height); the grid is filled left to right, 24 units wide.
PANELS = (
    ("total_spend", "Spend, calls and what is unknown", "stat", 24, 5),
    ("spend_over_time", "Spend over time", "timeseries", 24, 8),
    ("spend_by_model", "Spend by model", "bargauge", 12, 8),
    ("spend_by_provider", "Spend by provider", "bargauge", 12, 8),
    ("spend_by_service", "Spend by service", "bargauge", 12, 8),
    ("spend_by_feature", "Spend by feature", "bargauge", 12, 8),
    ("spend_by_tenant", "Spend by tenant", "bargauge", 12, 8),
    ("spend_by_user", "Top users", "table", 12, 8),
    ("token_mix", "Token mix", "timeseries", 24, 8),
    ("cache_savings", "Cache savings by model", "table", 12, 8),
    ("wasted_spend", "Failed, unpriced and usage-missing calls", "table", 12, 8),
    ("budget_burn", "Budget burn by tenant and service", "table", 12, 8),
    ("trace_costs", "Most expensive traces (click one to open it in Jaeger)", "table", 12, 8),
)


def panel_sql(name: str) -> str:
    """Named query `name` with its parameters as the plugin's macros and Grafana's variables."""
    query = named_query(name)
    sql = "\n".join(line for line in query.sql.splitlines() if not line.startswith("--")).strip()
    for pattern, replacement in _RULES:
        sql = re.sub(pattern, replacement, sql)
    for param in query.params:
        if param.name == "limit":
            sql = sql.replace("{limit:UInt32}", param.default)
    left = _LEFT.findall(sql)
    if left:
        raise ValueError(f"named query {name}: no Grafana form for {', '.join(sorted(set(left)))}")
    return sql


def dashboard() -> dict[str, Any]:
    """The dashboard as Grafana's JSON model."""
    panels, x, y, row_height = [], 0, 0, 0
    for index, (name, title, kind, width, height) in enumerate(PANELS, start=1):
        if x + width > 24:
            x, y, row_height = 0, y + row_height, 0
        panels.append(_panel(index, name, title, kind, {"x": x, "y": y, "w": width, "h": height}))
        x, row_height = x + width, max(row_height, height)
    return {
        "uid": "llmledger-costs",
        "title": "llmledger: LLM costs",
        "description": "Built from llmledger's named queries (schemas/queries); see docs/dashboard.md.",
        "tags": ["llmledger", "llm", "cost"],
        "timezone": "utc",
        "editable": True,
        "schemaVersion": 39,
        "time": {"from": "now-7d", "to": "now"},
        "refresh": "1m",
        "templating": {
            "list": [_datasource_variable(), *map(_text_variable, ("tenant", "service", "feature")), _jaeger_variable()]
        },
        "panels": panels,
    }


def _panel(index: int, name: str, title: str, kind: str, grid: dict[str, int]) -> dict[str, Any]:
    target = {
        "refId": "A",
        "datasource": {"type": PLUGIN, "uid": "${datasource}"},
        "editorType": "sql",
        "queryType": "timeseries" if kind == "timeseries" else "table",
        "format": _TIME_SERIES if kind == "timeseries" else _TABLE,
        "rawSql": panel_sql(name),
    }
    panel: dict[str, Any] = {
        "id": index,
        "type": kind,
        "title": title,
        "description": f"llmledger sql --query {name}",
        "datasource": {"type": PLUGIN, "uid": "${datasource}"},
        "gridPos": grid,
        "targets": [target],
        "fieldConfig": {"defaults": {}, "overrides": []},
        "options": {},
    }
    money = {
        "matcher": {"id": "byRegexp", "options": ".*_usd$"},
        "properties": [{"id": "unit", "value": "currencyUSD"}],
    }
    panel["fieldConfig"]["overrides"].append(money)
    if kind == "bargauge":
        panel["options"] = {"orientation": "horizontal", "displayMode": "basic", "reduceOptions": {"values": True}}
    if name == "trace_costs":
        link = {"title": "open in Jaeger", "url": "${jaeger_url}/trace/${__value.raw}", "targetBlank": True}
        panel["fieldConfig"]["overrides"].append(
            {"matcher": {"id": "byName", "options": "trace_id"}, "properties": [{"id": "links", "value": [link]}]}
        )
    return panel


def _datasource_variable() -> dict[str, Any]:
    return {
        "name": "datasource",
        "label": "ClickHouse",
        "type": "datasource",
        "query": PLUGIN,
        "current": {"text": "llmledger", "value": DATASOURCE_UID},
    }


def _text_variable(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "label": f"{name} (empty: all)",
        "type": "textbox",
        "query": "",
        "current": {"text": "", "value": ""},
    }


def _jaeger_variable() -> dict[str, Any]:
    return {
        "name": "jaeger_url",
        "label": "Jaeger UI",
        "type": "constant",
        "hide": 2,
        "query": "http://127.0.0.1:16686",
    }


if __name__ == "__main__":
    json.dump(dashboard(), sys.stdout, indent=2)
    sys.stdout.write("\n")
