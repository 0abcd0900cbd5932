# SPDX-License-Identifier: Apache-2.0
"""The budget file model: scopes, windows (time zones, DST, rolling) and the file format."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from llmledger._core.budget_file import Budget, BudgetFile, BudgetFileError, Scope, Window, load, parse

BERLIN = ZoneInfo("Europe/Berlin")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_scope_globs_match_each_dimension_and_missing_dimensions_are_empty():
    scope = Scope(tenant="acme", model="gpt-4o*")
    assert scope.matches({"tenant": "acme", "model": "gpt-4o-mini", "user": "u1"})
    assert not scope.matches({"tenant": "acme-eu", "model": "gpt-4o"})
    assert not scope.matches({"model": "gpt-4o"})
    assert Scope().matches({})
    assert Scope(user="?").matches({"user": "x"}) and not Scope(user="?").matches({})


def test_day_window_is_local_midnight_to_midnight_in_utc():
    start, end = Window("day", timezone="Europe/Berlin").bounds(utc(2026, 6, 10, 23, 30))
    assert (start, end) == (utc(2026, 6, 10, 22), utc(2026, 6, 11, 22))
    assert start.astimezone(BERLIN).hour == 0


def test_day_window_spans_23_and_25_hours_on_dst_days():
    day = Window("day", timezone="Europe/Berlin")
    spring = day.bounds(utc(2026, 3, 29, 12))
    autumn = day.bounds(utc(2026, 10, 25, 12))
    assert spring[1] - spring[0] == timedelta(hours=23)
    assert autumn[1] - autumn[0] == timedelta(hours=25)


def test_a_day_whose_midnight_does_not_exist_starts_at_the_transition():
    # Asia/Beirut moved clocks from 00:00 to 01:00 on 2024-03-31.
    start, end = Window("day", timezone="Asia/Beirut").bounds(utc(2024, 3, 31, 12))
    assert start == utc(2024, 3, 30, 22)
    assert end - start == timedelta(hours=23)


def test_month_window_rolls_over_at_local_month_start_and_across_the_year():
    month = Window("month", timezone="Europe/Berlin")
    assert month.bounds(utc(2026, 1, 31, 22, 59)) == (utc(2025, 12, 31, 23), utc(2026, 1, 31, 23))
    assert month.bounds(utc(2026, 1, 31, 23, 0)) == (utc(2026, 1, 31, 23), utc(2026, 2, 28, 23))
    assert Window("month").bounds(utc(2026, 12, 15)) == (utc(2026, 12, 1), utc(2027, 1, 1))


def test_rolling_window_ends_now_and_naive_now_is_utc():
    assert Window("rolling", hours=24).bounds(datetime(2026, 6, 2, 12)) == (utc(2026, 6, 1, 12), utc(2026, 6, 2, 12))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "week"}, "window must be"),
        ({"kind": "rolling"}, "hours > 0"),
        ({"kind": "day", "hours": 3}, "only to rolling"),
        ({"kind": "day", "timezone": "Mars/Olympus"}, "unknown time zone"),
    ],
)
def test_invalid_windows_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Window(**kwargs)


def test_budgets_built_in_code_accept_plain_numbers_and_lists():
    budget = Budget("b", Scope(), Window("day"), limit_usd=1, per=["user"], alerts=[1, 0.5])  # type: ignore[arg-type]
    assert budget.limit_usd == Decimal(1) and budget.per == ("user",)
    assert budget.alerts == (Decimal("0.5"), Decimal(1))
    assert budget.key({"user": "u1", "tenant": "t"}) == {"user": "u1"}
    with pytest.raises(ValueError, match="per must name"):
        Budget("b", Scope(), Window("day"), Decimal(1), per=("team",))


EXAMPLE = """
webhook: http://alerts.internal/llm-budgets
budgets:
  - name: acme-monthly
    scope: {tenant: acme}
    window: month
    timezone: Europe/Berlin
    limit_usd: 250
    action: raise
    per: [user]
    alerts: [0.5, 0.8, 1.0]
  - name: everyone-daily
    window: rolling 24h
    limit_usd: 0.1
"""


def test_the_readme_example_parses(tmp_path: Path):
    path = tmp_path / "budgets.yaml"
    path.write_text(EXAMPLE)
    loaded = load(path)
    assert loaded == BudgetFile(
        budgets=(
            Budget(
                "acme-monthly",
                Scope(tenant="acme"),
                Window("month", timezone="Europe/Berlin"),
                Decimal(250),
                action="raise",
                per=("user",),
                alerts=(Decimal("0.5"), Decimal("0.8"), Decimal("1.0")),
            ),
            Budget("everyone-daily", Scope(), Window("rolling", hours=24), Decimal("0.1")),
        ),
        webhook="http://alerts.internal/llm-budgets",
    )
    assert loaded.budgets[1].action == "warn"


def test_json_files_load_too(tmp_path: Path):
    path = tmp_path / "budgets.json"
    path.write_text('{"budgets": [{"name": "a", "window": "day", "limit_usd": "2.5"}]}')
    assert load(path).budgets[0].limit_usd == Decimal("2.5")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"name": "x", "window": "day"}, r" \(x\): missing 'limit_usd'"),
        ({"name": "x", "window": "day", "limit_usd": 1, "limit": 2}, r" \(x\): unknown key\(s\) limit"),
        ({"name": "x", "window": "week", "limit_usd": 1}, r" \(x\): window must be"),
        ({"name": "x", "window": "day", "limit_usd": "lots"}, r" \(x\): limit_usd must be a number"),
        ({"name": "x", "window": "day", "limit_usd": -1}, r" \(x\): limit_usd must be >= 0"),
        ({"name": "x", "window": "day", "limit_usd": 1, "action": "block"}, r" \(x\): action must be"),
        ({"name": "x", "window": "day", "limit_usd": 1, "scope": {"team": "a"}}, r" \(x\): unknown scope dimension"),
        ({"name": "x", "window": "day", "limit_usd": 1, "timezone": "Nowhere"}, r" \(x\): unknown time zone"),
        ({"name": "x", "window": "day", "limit_usd": 1, "alerts": [0]}, r" \(x\): alerts .*must be > 0"),
        ("x", r": expected a mapping"),
    ],
)
def test_errors_name_the_file_and_the_entry(entry, message):
    with pytest.raises(BudgetFileError, match=r"^budgets\.yaml: budgets\[0\]" + message):
        parse({"budgets": [entry]}, "budgets.yaml")


def test_file_level_errors_name_the_file(tmp_path: Path):
    with pytest.raises(BudgetFileError, match="repeated: a"):
        parse({"budgets": [{"name": "a", "window": "day", "limit_usd": 1}] * 2}, "f.yaml")
    with pytest.raises(BudgetFileError, match=r"f\.yaml: unknown top-level"):
        parse({"budget": []}, "f.yaml")
    with pytest.raises(BudgetFileError, match="webhook must be"):
        parse({"budgets": [], "webhook": "alerts.internal"}, "f.yaml")
    with pytest.raises(BudgetFileError, match="cannot read"):
        load(tmp_path / "missing.yaml")
    (tmp_path / "bad.yaml").write_text("budgets: [")
    with pytest.raises(BudgetFileError, match=r"bad\.yaml, line 1, column 11: not valid YAML: "):
        load(tmp_path / "bad.yaml")
    (tmp_path / "bad.json").write_text('{"budgets": [}')
    with pytest.raises(BudgetFileError, match=r"bad\.json, line 1, column 14: not valid JSON: "):
        load(tmp_path / "bad.json")
