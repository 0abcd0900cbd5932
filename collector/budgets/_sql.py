# SPDX-License-Identifier: Apache-2.0
"""The budget status query: one SQL text for the `llm_budget_status` view and for the collector's own reads.

Window bounds are computed by ClickHouse from `now` and the budget's time zone (local midnights through the
zone's rules, so DST days are 23 or 25 hours long). ClickHouse takes a time zone only as a constant, so the
text inlines one branch per zone the budget file names; that is why the view is created when the file is
synced rather than by a migration.

Spend is summed exactly: the 15-minute buckets of `llm_budget_usage` that lie wholly inside a window come from
the rollup, and calls in a bucket the window cuts (the start of a rolling window, its end at `now`, a zone
whose offset is not a multiple of 15 minutes) come from `llm_calls FINAL`. So the result equals
`SELECT sum(TotalCost) FROM llm_calls FINAL WHERE Timestamp >= start AND Timestamp < end AND <scope>`.

Burn rate is the window's spend divided by the hours elapsed in it (at least a quarter of an hour, so a
window's first minutes do not project wildly); the projection for a calendar window is spend + burn rate ×
hours left. A rolling window always ends now, so its projection is its spend.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal

from llmledger._core.budget_file import DIMENSIONS, Budget

BUDGETS_TABLE = "llm_budgets"
STATUS_VIEW = "llm_budget_status"
NOW = "now64(3, 'UTC')"
NOW_PARAMETER = "parseDateTime64BestEffort({now:String}, 3, 'UTC')"

# Budget dimension → llm_calls / llm_budget_usage column.
COLUMNS = {"tenant": "Tenant", "service": "ServiceName", "feature": "Feature", "user": "UserId", "model": "Model"}
_PATTERN_COLUMNS = {dim: f"{dim.capitalize()}Pattern" for dim in DIMENSIONS}
# The columns of a budget row, in `budget_row` order (`llm_budgets` adds Version and Deleted).
BUDGET_COLUMN_TYPES = (
    ("Name", "String"),
    ("Scope", "Map(String, String)"),
    *((column, "String") for column in _PATTERN_COLUMNS.values()),
    ("WindowKind", "String"),
    ("WindowHours", "UInt32"),
    ("Timezone", "String"),
    ("LimitUsd", "Decimal(38, 12)"),
    ("Action", "String"),
    ("Per", "Array(String)"),
    ("Alerts", "Array(Decimal(18, 6))"),
)
BUDGET_COLUMNS = ", ".join(f"{name} {kind}" for name, kind in BUDGET_COLUMN_TYPES)

_TEMPLATE = """
WITH
    {now} AS Now,
    budgets AS (
        SELECT *,
            multiIf(WindowKind = 'rolling', Now - toIntervalHour(WindowHours), WindowKind = 'day', {day_start},
                {month_start}) AS WindowStart,
            multiIf(WindowKind = 'rolling', Now, WindowKind = 'day', {day_end}, {month_end}) AS WindowEnd
        FROM {source}
    ),
    usage AS (
        -- Unmerged rollup rows need no GROUP BY here: `spent` sums whatever matches.
        SELECT toDateTime64(Bucket, 9, 'UTC') AS At, 1 AS Whole, Tenant, ServiceName, Feature, UserId, Model,
            TotalCost AS Cost
        FROM {database}llm_budget_usage
        WHERE Bucket >= (SELECT toStartOfFifteenMinutes(toDateTime(min(WindowStart))) FROM budgets)
        UNION ALL
        SELECT toDateTime64(Timestamp, 9, 'UTC') AS At, 0 AS Whole, Tenant, ServiceName, Feature, UserId, Model,
            toDecimal128(TotalCost, 12) AS Cost
        FROM {database}llm_calls FINAL
        WHERE Timestamp >= (SELECT min(WindowStart) FROM budgets)
            AND has(
                (SELECT groupUniqArrayArray([toStartOfFifteenMinutes(toDateTime(WindowStart)),
                    toStartOfFifteenMinutes(toDateTime(WindowEnd))]) FROM budgets),
                toStartOfFifteenMinutes(toDateTime(Timestamp)))
    ),
    matched AS (
        SELECT b.Name AS Name,
            arrayMap(d -> multiIf(d = 'tenant', toString(u.Tenant), d = 'service', toString(u.ServiceName),
                d = 'feature', toString(u.Feature), d = 'user', u.UserId, toString(u.Model)), b.Per) AS KeyValues,
            u.Cost AS Cost
        FROM budgets AS b CROSS JOIN usage AS u
        WHERE {scope}
            AND if(u.Whole = 1,
                u.At >= b.WindowStart AND u.At + toIntervalMinute(15) <= b.WindowEnd,
                u.At >= b.WindowStart AND u.At < b.WindowEnd
                    AND NOT (toStartOfFifteenMinutes(toDateTime(u.At)) >= b.WindowStart
                        AND toStartOfFifteenMinutes(toDateTime(u.At)) + toIntervalMinute(15) <= b.WindowEnd))
        UNION ALL
        SELECT Name, [] AS KeyValues, toDecimal128(0, 12) AS Cost FROM budgets WHERE empty(Per)
    ),
    spent AS (
        SELECT Name, KeyValues, sum(Cost) AS Spent FROM matched GROUP BY Name, KeyValues
    )
SELECT
    b.Name AS Name,
    mapFromArrays(b.Per, s.KeyValues) AS Key,
    b.WindowStart AS WindowStart,
    b.WindowEnd AS WindowEnd,
    b.LimitUsd AS LimitUsd,
    toDecimal128(s.Spent, 12) AS SpentUsd,
    if(b.LimitUsd > 0, toFloat64(s.Spent) / toFloat64(b.LimitUsd), if(s.Spent > 0, 1, 0)) AS Fraction,
    greatest(dateDiff('millisecond', b.WindowStart, least(Now, b.WindowEnd)) / 3600000, 0.25) AS ElapsedHours,
    toFloat64(s.Spent) / ElapsedHours AS BurnRateUsdPerHour,
    if(b.WindowKind = 'rolling', toDecimal128(s.Spent, 12),
        toDecimal128(s.Spent, 12) + toDecimal128(round(BurnRateUsdPerHour
            * greatest(dateDiff('millisecond', Now, b.WindowEnd), 0) / 3600000, 6), 12)) AS ProjectedUsd,
    b.Action AS Action,
    b.Alerts AS Alerts,
    Now AS GeneratedAt
FROM spent AS s INNER JOIN budgets AS b ON b.Name = s.Name
ORDER BY Name, toString(Key)
"""


def status_sql(source: str, zones: Iterable[str], *, now: str = NOW, database: str = "") -> str:
    """The status query over budget rows from `source` (a table or a `values(...)` call), for the `zones` they use.

    `now` is the SQL for the instant the windows hold (the view's own clock, or a parameter); `database`
    qualifies the tables ("" for the client's default database).
    """
    branches = sorted(set(zones) | {"UTC"})

    def by_zone(expression: str) -> str:
        parts = [f"Timezone = {quote(zone)}, {expression.format(zone=quote(zone))}" for zone in branches]
        return "multiIf(" + ", ".join(parts) + ", Now)"

    day = "toDate(Now, {zone})"
    month = "toStartOfMonth(toDate(Now, {zone}))"
    local = "toDateTime64(toDateTime({date}, {{zone}}), 3, 'UTC')"
    scope = " AND ".join(
        f"(b.{pattern} = '' OR match(toString(u.{COLUMNS[dim]}), b.{pattern}))"
        for dim, pattern in _PATTERN_COLUMNS.items()
    )
    return _TEMPLATE.format(
        now=now,
        source=source,
        database=f"{database}." if database else "",
        day_start=by_zone(local.format(date=day)),
        day_end=by_zone(local.format(date=f"{day} + 1")),
        month_start=by_zone(local.format(date=month)),
        month_end=by_zone(local.format(date=f"addMonths({month}, 1)")),
        scope=scope,
    )


def budget_row(budget: Budget) -> list[object]:
    """`budget` as a row of `BUDGET_COLUMNS` (and of `llm_budgets`, which has two more at the end)."""
    scope = {dim: getattr(budget.scope, dim) for dim in DIMENSIONS if getattr(budget.scope, dim) != "*"}
    return [
        budget.name,
        scope,
        *(glob_pattern(getattr(budget.scope, dim)) for dim in DIMENSIONS),
        budget.window.kind,
        budget.window.hours,
        budget.window.timezone,
        budget.limit_usd,
        budget.action,
        list(budget.per),
        list(budget.alerts),
    ]


def inline_source(budgets: Sequence[Budget]) -> str:
    """A `values(...)` table function holding `budgets`, for reading status without touching `llm_budgets`."""
    if not budgets:
        return f"(SELECT * FROM values({quote(BUDGET_COLUMNS)}, {_literal(budget_row(_NONE))}) WHERE 0)"
    rows = ", ".join(_literal(budget_row(budget)) for budget in budgets)
    return f"(SELECT * FROM values({quote(BUDGET_COLUMNS)}, {rows}))"


def glob_pattern(glob: str) -> str:
    """The RE2 pattern matching what `fnmatch.fnmatchcase(value, glob)` matches; '' for `*` (everything)."""
    if glob == "*":
        return ""
    out, index, size = ["(?s)^"], 0, len(glob)
    while index < size:
        char = glob[index]
        index += 1
        if char == "*":
            out.append(".*")
        elif char == "?":
            out.append(".")
        elif char == "[":
            end = index + 1 if index < size and glob[index] == "!" else index
            end = end + 1 if end < size and glob[end] == "]" else end
            end = glob.find("]", end)
            if end < 0:
                out.append(r"\[")
                continue
            body = glob[index:end].replace("\\", "\\\\")
            index = end + 1
            if body.startswith("!"):
                body = "^" + body[1:]
            elif body.startswith("^"):
                body = "\\" + body
            out.append(f"[{body}]")
        else:
            out.append(_escape(char))
    out.append("$")
    return "".join(out)


def quote(text: str) -> str:
    """`text` as a ClickHouse string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def format_now(now: datetime) -> str:
    """`now` as the text `NOW_PARAMETER` reads (UTC, milliseconds)."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _escape(char: str) -> str:
    return "\\" + char if not char.isalnum() and char != "_" and ord(char) < 128 else char


def _literal(row: Sequence[object]) -> str:
    return "(" + ", ".join(_value(value) for value in row) + ")"


def _value(value: object) -> str:
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, dict):
        return "map(" + ", ".join(f"{quote(k)}, {quote(v)}" for k, v in value.items()) + ")"
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    if isinstance(value, Decimal):
        return f"toDecimal128({quote(format(value, 'f'))}, 12)"  # exact: never through a double
    return str(int(value))  # type: ignore[call-overload]


def _none() -> Budget:
    from llmledger._core.budget_file import Scope, Window

    return Budget("-", Scope(), Window("day"), Decimal(0))


_NONE = _none()
