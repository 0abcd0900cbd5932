# SPDX-License-Identifier: Apache-2.0
"""Where each budget stands: spend in its current window, burn rate and projection, read from ClickHouse.

`read_status` evaluates the budgets of a file (passed inline, so a reader never depends on what another
process synced) at a given instant; `sync` writes the file into `llm_budgets` and (re)creates the
`llm_budget_status` view over it, so SQL users and dashboards see the same numbers. `status_document` is the
JSON of `GET /v1/budgets/status` and `llmledger budget status --format json`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from clickhouse_connect.driver.client import Client

from llmledger._core.budget_file import Budget, BudgetFile

from ..exporters.clickhouse.client import translate_errors
from ..exporters.clickhouse.migrations import quote_identifier
from ._sql import (
    BUDGET_COLUMN_TYPES,
    BUDGETS_TABLE,
    NOW_PARAMETER,
    STATUS_VIEW,
    budget_row,
    format_now,
    inline_source,
    status_sql,
)


@dataclass(frozen=True, slots=True)
class BudgetStatus:
    """One pool of one budget (one per distinct value of its `per` dimensions) in its current window."""

    name: str
    key: dict[str, str]
    window_start: datetime
    window_end: datetime
    limit_usd: Decimal
    spent_usd: Decimal
    fraction: float  # spent / limit; a zero limit reads 1.0 once anything is spent
    burn_rate_usd_per_hour: float
    projected_usd: Decimal
    action: str
    alerts: tuple[Decimal, ...]

    def document(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "key": dict(self.key),
            "window_start": iso(self.window_start),
            "window_end": iso(self.window_end),
            "limit_usd": decimal_text(self.limit_usd),
            "spent_usd": decimal_text(self.spent_usd),
            "fraction": self.fraction,
            "burn_rate_usd_per_hour": self.burn_rate_usd_per_hour,
            "projected_usd": decimal_text(self.projected_usd),
            "action": self.action,
        }


def read_status(client: Client, budgets: BudgetFile, now: datetime | None = None) -> list[BudgetStatus]:
    """The status of every budget in `budgets` at `now` (default: the current time), by name then key.

    A budget without `per` always has one row (spent 0 when nothing matched); one with `per` has a row per
    key that spent something in the window.
    """
    if not budgets.budgets:
        return []
    sql = status_sql(inline_source(budgets.budgets), [b.window.timezone for b in budgets.budgets], now=NOW_PARAMETER)
    with translate_errors():
        rows = client.query(sql, parameters={"now": format_now(now or datetime.now(UTC))}).named_results()
        return [_status(row) for row in rows]


def status_document(statuses: Sequence[BudgetStatus], generated_at: datetime) -> dict[str, Any]:
    return {"generated_at": iso(generated_at), "budgets": [status.document() for status in statuses]}


def sync(client: Client, budgets: BudgetFile, database: str | None = None) -> None:
    """Make `llm_budgets` hold exactly the budgets of the file and point `llm_budget_status` at it."""
    qualified = f"{quote_identifier(database)}." if database else ""
    version = time.time_ns() // 1000
    with translate_errors():
        present = {
            row[0]
            for row in client.query(f"SELECT Name FROM {qualified}{BUDGETS_TABLE} FINAL WHERE Deleted = 0").result_rows
        }
        rows = [[*budget_row(budget), version, 0] for budget in budgets.budgets]
        gone = present - {budget.name for budget in budgets.budgets}
        rows += [[*budget_row(_placeholder(name)), version, 1] for name in sorted(gone)]
        if rows:
            client.insert(f"{qualified}{BUDGETS_TABLE}", rows, column_names=_TABLE_COLUMNS)
        source = f"(SELECT * FROM {qualified}{BUDGETS_TABLE} FINAL WHERE Deleted = 0)"
        zones = [b.window.timezone for b in budgets.budgets]
        view = status_sql(source, zones, database=quote_identifier(database) if database else "")
        client.command(f"CREATE OR REPLACE VIEW {qualified}{STATUS_VIEW} AS {view}")


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and a `Z`."""
    return utc(moment).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def decimal_text(value: Decimal) -> str:
    """A decimal without exponent or trailing zeros (`3.25`, `0`)."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


_TABLE_COLUMNS = [name for name, _ in BUDGET_COLUMN_TYPES] + ["Version", "Deleted"]


def _placeholder(name: str) -> Budget:
    from llmledger._core.budget_file import Scope, Window

    return Budget(name, Scope(), Window("day"), Decimal(0))


def _status(row: Mapping[str, Any]) -> BudgetStatus:
    return BudgetStatus(
        name=row["Name"],
        key=dict(row["Key"]),
        window_start=utc(row["WindowStart"]),
        window_end=utc(row["WindowEnd"]),
        limit_usd=Decimal(row["LimitUsd"]),
        spent_usd=Decimal(row["SpentUsd"]),
        fraction=float(row["Fraction"]),
        burn_rate_usd_per_hour=float(row["BurnRateUsdPerHour"]),
        projected_usd=Decimal(row["ProjectedUsd"]),
        action=row["Action"],
        alerts=tuple(Decimal(a).normalize() for a in row["Alerts"]),  # 0.500000 → 0.5
    )


def utc(moment: datetime) -> datetime:
    """`moment` in UTC; a naive one (as clickhouse-connect returns UTC columns) is taken as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
