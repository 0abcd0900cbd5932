# SPDX-License-Identifier: Apache-2.0
"""Commands that read data never create a data directory: a mistyped --data-dir is an error naming it.

Only the collector (and `llmledger clickhouse`, which serves one) creates the data directory; `sql`, `report`,
`budget status` and `schema apply` would otherwise start an embedded server in a new directory and answer from an
empty database as if nothing had been recorded.
"""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    "command",
    [
        ("sql", "SELECT 1"),
        ("report",),
        ("budget", "status", "--budgets-file", "{budgets}"),
        ("schema", "apply"),
    ],
)
def test_a_data_dir_that_does_not_exist_is_an_error_naming_it_and_is_not_created(cli, tmp_path, command):
    typo = tmp_path / "llmlegder"
    budgets = tmp_path / "budgets.yaml"
    budgets.write_text("budgets: []\n")

    result = cli(*(part.format(budgets=budgets) for part in command), "--data-dir", str(typo), connect=False)

    assert result.returncode == 2, result.stdout + result.stderr
    assert f"no data directory {typo}: it does not exist" in result.stderr
    assert "the collector's --data-dir" in result.stderr
    assert not typo.exists()


def test_a_directory_without_clickhouse_data_is_an_error_too(cli, tmp_path):
    result = cli("report", "--data-dir", str(tmp_path), connect=False)

    assert result.returncode == 2, result.stdout + result.stderr
    assert f"no ClickHouse data in data directory {tmp_path}" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_the_default_data_dir_is_checked_as_well(cli, cli_env, tmp_path):
    import subprocess
    import sys

    env = {**cli_env, "LLMLEDGER_DATA_DIR": str(tmp_path / "never-started")}
    result = subprocess.run(
        [sys.executable, "-m", "llmledger.collector.cli", "sql", "SELECT 1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )

    assert result.returncode == 2
    assert f"no data directory {tmp_path / 'never-started'}" in result.stderr


def test_schema_apply_print_needs_no_data_dir(cli, tmp_path):
    result = cli("schema", "apply", "--print", "--data-dir", str(tmp_path / "none"), connect=False)

    assert result.returncode == 0, result.stderr
    assert "CREATE TABLE IF NOT EXISTS" in result.stdout
