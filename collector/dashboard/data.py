# SPDX-License-Identifier: Apache-2.0
"""The dashboard's numbers: one JSON-ready document per view, from the named queries of `schemas/queries/`.

Every section but three is a named query, run with the view's filters as its parameters, so the page, the HTML
report, Grafana and `llmledger sql --query NAME` answer the same question with the same SQL. They read the
rollups (`llm_usage_hourly`, `llm_usage_daily_user`, `llm_trace_costs`), which hold thousands of rows where
`llm_calls` holds millions. The rollups cannot answer three questions, read from `llm_calls` instead:

* the most expensive calls (one row per call is the question), a top-N over the period's primary-key range;
* which calls are unpriced and which never reported usage, asked only when the rollup counted some, as
  `llmledger report` does, and found through `llm_calls`' `CostSource` skip index (the rollup's unpriced count
  includes the calls without usage, which no price can cost: the total's `unpriced_calls` is recounted there);
* budgets: the `llm_budget_status` view the collector creates from its budget file (absent without one).

Money stays `Decimal` until `document()`, which writes it as a decimal string, as every llmledger JSON does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from ..exporters.clickhouse.queries import named_query
from .filters import SECTIONS, Filters

# A function running SQL with bound parameters and returning (column names, rows).
Run = Callable[[str, dict[str, Any]], tuple[Sequence[str], Sequence[Sequence[Any]]]]

TOP = 20  # rows of each "most expensive" list
_AFTER_TOTAL = frozenset({"unpriced", "usage_missing"})  # asked only when the total counted some
_PARALLEL = 4  # queries in flight at once: the rollup queries are short, and their round trips add up
_SERVER_ATTRIBUTE = "server.address"

_CALLS_WHERE = (
    "({tenant:String} = '' OR Tenant = {tenant:String}) "
    "AND ({service:String} = '' OR ServiceName = {service:String}) "
    "AND ({feature:String} = '' OR Feature = {feature:String}) "
    "AND Timestamp >= toStartOfHour(now() - toIntervalDay({days:UInt32}))"
)
_TOP_CALLS = (
    "SELECT Timestamp AS timestamp, TraceId AS trace_id, SpanId AS span_id, ServiceName AS service, "
    "Feature AS feature, UserId AS user_id, Provider AS provider, Model AS model, "
    "toUInt64(InputTokens) + OutputTokens AS total_tokens, TotalCost AS spend_usd "
    f"FROM llm_calls WHERE {_CALLS_WHERE} "
    "ORDER BY TotalCost DESC, Timestamp DESC, TraceId, SpanId LIMIT {limit:UInt32}"
)
_UNPRICED = (
    "SELECT Provider AS provider, Model AS model, count() AS calls, sum(InputTokens) AS input_tokens, "
    f"sum(OutputTokens) AS output_tokens FROM llm_calls WHERE {_CALLS_WHERE} "
    "AND CostSource = 'unpriced' AND UsageComplete GROUP BY provider, model ORDER BY calls DESC, provider, model"
)
_UNPRICED_COUNT = f"SELECT count() FROM llm_calls WHERE {_CALLS_WHERE} AND CostSource = 'unpriced' AND UsageComplete"
_USAGE_MISSING = (
    f"SELECT Provider AS provider, Attributes['{_SERVER_ATTRIBUTE}'] AS server, count() AS calls, "
    "countIf(IsStreaming) AS streams, arraySort(groupUniqArray(Model)) AS models "
    f"FROM llm_calls WHERE {_CALLS_WHERE} AND NOT UsageComplete "
    "GROUP BY provider, server ORDER BY calls DESC, provider, server"
)
_FAILED = (
    "SELECT Provider AS provider, Model AS model, sum(ErrorCalls) AS failed_calls, sum(Calls) AS calls "
    "FROM llm_usage_hourly WHERE ({tenant:String} = '' OR Tenant = {tenant:String}) "
    "AND ({service:String} = '' OR ServiceName = {service:String}) "
    "AND ({feature:String} = '' OR Feature = {feature:String}) "
    "AND Hour >= toStartOfHour(now() - toIntervalDay({days:UInt32})) "
    "GROUP BY provider, model HAVING failed_calls > 0 ORDER BY failed_calls DESC, provider, model"
)
_CHOICES = (
    "SELECT arraySort(groupUniqArray(Tenant)), arraySort(groupUniqArray(ServiceName)), "
    "arraySort(groupUniqArray(Feature)) FROM llm_usage_hourly "
    "WHERE Hour >= toStartOfHour(now() - toIntervalDay({days:UInt32}))"
)
_BUDGETS = (
    "SELECT Name AS name, Key AS key, WindowStart AS window_start, WindowEnd AS window_end, LimitUsd AS limit_usd, "
    "SpentUsd AS spent_usd, round(Fraction, 6) AS fraction, round(BurnRateUsdPerHour, 6) AS burn_usd_per_hour, "
    "ProjectedUsd AS projected_usd, Action AS action FROM llm_budget_status ORDER BY Fraction DESC, Name"
)


def collect(run: Run, filters: Filters, *, views: Sequence[str] | None = None, jaeger_url: str = "") -> dict[str, Any]:
    """The document of `filters.view` (or of each of `views`): `total`, `choices`, then one list per section."""
    params = filters.params()
    doc: dict[str, Any] = {
        "generated_at": datetime.now(UTC),
        "filters": filters.document(),
        "jaeger_url": jaeger_url.rstrip("/"),
        "views": list((filters.view,) if views is None else views),
    }
    sections = [section for view in doc["views"] for section in SECTIONS[view]]
    later = [section for section in sections if section in _AFTER_TOTAL]
    with ThreadPoolExecutor(max_workers=_PARALLEL) as pool:
        total_future = pool.submit(_named, run, "total_spend", params)
        choices_future = pool.submit(lambda: _first(run(_CHOICES, {"days": filters.days}))[0])
        futures = {
            section: pool.submit(_section, run, section, filters, {}, doc["jaeger_url"])
            for section in sections
            if section not in _AFTER_TOTAL
        }
        (total,) = total_future.result()
        bound = named_query("total_spend").bind(params)
        recount = total["unpriced_calls"] and pool.submit(lambda: _first(run(_UNPRICED_COUNT, bound))[0][0])
        futures |= {
            section: pool.submit(_section, run, section, filters, total, doc["jaeger_url"]) for section in later
        }
        if recount:  # the rollup counts calls without usage too; those are `usage_missing_calls`
            total["unpriced_calls"] = recount.result()
        doc["total"] = total
        tenants, services, features = choices_future.result()
        doc["choices"] = {"tenant": list(tenants), "service": list(services), "feature": list(features)}
        for section in sections:
            doc[section] = futures[section].result()
    return doc


def collect_part(run: Run, filters: Filters, *, jaeger_url: str = "") -> dict[str, Any]:
    """One part of `filters.view`: `head` (the document without its sections) or one section (`rows`)."""
    if filters.part == "head":
        return collect(run, filters, views=[], jaeger_url=jaeger_url) | {"views": [filters.view]}
    asked = {"unpriced_calls": 1, "usage_missing_calls": 1}  # asked for by the page, which saw the total
    return {"section": filters.part, "rows": _section(run, filters.part, filters, asked, jaeger_url.rstrip("/"))}


def _section(run: Run, section: str, filters: Filters, total: dict[str, Any], jaeger: str) -> list[dict[str, Any]]:
    params: dict[str, Any] = filters.params()
    if section in ("spend_over_time", "token_mix"):
        return _named(run, section, {**params, "bucket_hours": str(filters.bucket_hours)})
    if section in ("spend_by_model", "spend_by_user", "trace_costs"):
        rows = _named(run, section, {**params, "limit": str(TOP if section == "trace_costs" else 50)})
        if section == "trace_costs":
            for row in rows:
                row["link"] = f"{jaeger}/trace/{row['trace_id']}" if jaeger and row["trace_id"] else ""
        return rows
    if section == "budget_burn":
        return _named(run, section, {"tenant": filters.tenant})
    bound = named_query("total_spend").bind(params)
    if section == "failed_calls":
        return _records(run(_FAILED, bound))
    if section == "top_calls":
        rows = _records(run(_TOP_CALLS, {**bound, "limit": TOP}))
        for row in rows:
            found = f"{jaeger}/trace/{row['trace_id']}?uiFind={row['span_id']}"
            row["link"] = found if jaeger and row["trace_id"] else ""
        return rows
    if section == "unpriced":
        return _records(run(_UNPRICED, bound)) if total["unpriced_calls"] else []
    if section == "usage_missing":
        return _records(run(_USAGE_MISSING, bound)) if total["usage_missing_calls"] else []
    if section == "budgets":
        (exists,), _ = _first(run("EXISTS TABLE llm_budget_status", {}))
        return _records(run(_BUDGETS, {})) if exists else []
    return _named(run, section, params)


def _named(run: Run, name: str, params: dict[str, str]) -> list[dict[str, Any]]:
    query = named_query(name)
    accepted = {param.name for param in query.params}
    return _records(run(query.sql, query.bind({k: v for k, v in params.items() if k in accepted})))


def _records(result: tuple[Sequence[str], Sequence[Sequence[Any]]]) -> list[dict[str, Any]]:
    columns, rows = result
    return [dict(zip(columns, row, strict=True)) for row in rows]


def _first(result: tuple[Sequence[str], Sequence[Sequence[Any]]]) -> tuple[Sequence[Any], Sequence[str]]:
    columns, rows = result
    return rows[0], columns


def jsonable(value: Any) -> Any:
    """`value` with Decimals as decimal strings, times as ISO 8601 UTC, maps and tuples as JSON objects and lists."""
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f") if value else "0"
        return text
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value != value:  # NaN: JSON has none
        return None
    return value
