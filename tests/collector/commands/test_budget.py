# SPDX-License-Identifier: Apache-2.0
"""`llmledger budget status` prints every budget's spend, share, burn rate and projection, as a table or JSON."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

BUDGETS = """\
budgets:
  - name: acme-week
    scope: {tenant: acme}
    window: rolling 168h
    limit_usd: 0.05
  - name: per-user
    window: rolling 168h
    limit_usd: 1
    per: [user]
    action: raise
"""


@pytest.fixture(scope="module")
def budget_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("budget") / "budgets.yaml"
    path.write_text(BUDGETS)
    return path


def test_json_spend_equals_the_sum_of_the_calls_in_scope(cli, loaded, budget_file):
    result = cli("budget", "status", "--budgets-file", str(budget_file), "--format", "json")
    assert result.returncode == 0, result.stderr

    document = json.loads(result.stdout)
    spent = {(e["name"], e["key"].get("user", "")): Decimal(e["spent_usd"]) for e in document["budgets"]}
    assert spent[("acme-week", "")] == sum((c.total_cost for c in loaded if c.tenant == "acme"), Decimal(0))
    for user in {call.user_id for call in loaded}:
        assert spent[("per-user", user)] == sum((c.total_cost for c in loaded if c.user_id == user), Decimal(0))


def test_the_table_has_one_line_per_budget_and_key(cli, loaded, budget_file):
    result = cli("budget", "status", "--budgets-file", str(budget_file))
    assert result.returncode == 0, result.stderr

    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"Budgets of {budget_file} at ")
    assert lines[1].split() == [
        "budget",
        "key",
        "window",
        "since",
        "(UTC)",
        "spent",
        "limit",
        "used",
        "burn/h",
        "projected",
        "action",
    ]
    (acme,) = [line for line in lines if line.lstrip().startswith("acme-week")]
    total = sum((c.total_cost for c in loaded if c.tenant == "acme"), Decimal(0))
    assert f"${total:,.6f}" in acme and "$0.050000" in acme and "rolling 168h" in acme
    assert f"{total / Decimal('0.05') * 100:.1f}%" in acme
    users = [line for line in lines if line.lstrip().startswith("per-user")]
    assert len(users) == len({call.user_id for call in loaded})
    assert all(line.rstrip().endswith("raise") for line in users)


def test_the_budget_file_can_come_from_the_environment(cli, cli_env, loaded, budget_file):
    cli_env["LLMLEDGER_BUDGETS_FILE"] = str(budget_file)
    try:
        result = cli("budget", "status", "--format", "json")
    finally:
        del cli_env["LLMLEDGER_BUDGETS_FILE"]
    assert result.returncode == 0, result.stderr
    assert {entry["name"] for entry in json.loads(result.stdout)["budgets"]} == {"acme-week", "per-user"}


def test_a_missing_or_bad_budget_file_exits_2_naming_the_problem(cli, tmp_path):
    missing = cli("budget", "status")
    assert missing.returncode == 2
    assert "--budgets-file" in missing.stderr

    bad = tmp_path / "bad.yaml"
    bad.write_text("budgets:\n  - name: x\n    window: weekly\n    limit_usd: 1\n")
    result = cli("budget", "status", "--budgets-file", str(bad))
    assert result.returncode == 2
    assert "budgets[0] (x)" in result.stderr and "window must be" in result.stderr
