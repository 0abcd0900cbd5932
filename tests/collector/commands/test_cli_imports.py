# SPDX-License-Identifier: Apache-2.0
"""`llmledger sql` and `llmledger report` load only what they use: never the ClickHouse driver, the price data or
an LLM SDK, and no other command's module.

Each command runs in a fresh interpreter against the test server, as users run it, and reports the modules it had
loaded when it finished; what it printed is checked too, so a command that failed early cannot pass for light.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# Run `main(argv)` in a fresh interpreter, then write the names of every loaded module to stderr, last line.
_PROBE = """
import sys
from llmledger.collector.cli import main
try:
    status = main(sys.argv[1:])
except SystemExit as end:  # --help
    status = end.code
import json
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
sys.exit(status)
"""
# Top-level packages a querying command must not load: the driver and its HTTP stack, the price data, the SDKs.
HEAVY_PACKAGES = ("clickhouse_connect", "urllib3", "genai_prices", "openai", "anthropic", "google", "litellm", "httpx")
HEAVY_MODULES = ("llmledger._core.price_data", "llmledger._core.prices", "llmledger.instrumentation")
OTHER_COMMANDS = ("collector", "clickhouse", "schema", "budget", "prices", "reprice", "whatif", "ui")


def run(cli_env: dict[str, str], *args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, env=cli_env, timeout=120, check=False
    )
    *messages, modules = result.stderr.splitlines() or [""]
    assert result.returncode == 0, "\n".join(messages) or result.stderr
    return result, set(json.loads(modules))


def heavy(modules: set[str]) -> list[str]:
    return sorted(
        name
        for name in modules
        if name.split(".")[0] in HEAVY_PACKAGES or any(name == m or name.startswith(m + ".") for m in HEAVY_MODULES)
    )


def other_commands(modules: set[str], command: str) -> list[str]:
    """The modules of commands other than `command` among `modules`."""
    others = {f"llmledger.collector.commands.{name}" for name in OTHER_COMMANDS if name != command}
    return sorted(modules & others)


def test_sql_against_a_server_by_url_loads_no_driver_price_data_sdk_or_other_command(cli_env, clickhouse, database):
    result, modules = run(
        cli_env, "sql", "SELECT 40 + 2 AS n", "-f", "csv", "--clickhouse-url", clickhouse.url, "--database", database
    )

    assert result.stdout.splitlines() == ['"n"', "42"]
    assert heavy(modules) == []
    assert other_commands(modules, "sql") == []


def test_sql_against_the_running_embedded_server_of_a_data_directory_loads_none_of_them(cli_env, clickhouse, database):
    result, modules = run(
        cli_env, "sql", "SELECT currentDatabase()", "-f", "csv", "--data-dir", str(clickhouse.data_dir),
        "--database", database,
    )  # fmt: skip

    assert result.stdout.splitlines()[1] == f'"{database}"'
    assert heavy(modules) == []


def test_a_named_query_loads_none_of_them(cli_env, clickhouse, database):
    result, modules = run(
        cli_env, "sql", "--query", "total_spend", "-f", "json", "--clickhouse-url", clickhouse.url,
        "--database", database,
    )  # fmt: skip

    assert "spend_usd" in json.loads(result.stdout)[0]
    assert heavy(modules) == []


def test_report_loads_none_of_them(cli_env, clickhouse, database):
    result, modules = run(
        cli_env, "report", "--format", "json", "--clickhouse-url", clickhouse.url, "--database", database
    )

    assert "spend_by_model" in json.loads(result.stdout)
    assert heavy(modules) == []
    assert other_commands(modules, "report") == []


@pytest.mark.parametrize("command", ["sql", "report"])
def test_the_help_of_a_command_loads_no_other_command(cli_env, command):
    result, modules = run(cli_env, command, "--help")

    assert f"usage: llmledger {command}" in result.stdout
    assert other_commands(modules, command) == []


def test_the_help_of_llmledger_still_lists_every_command(cli_env):
    result, modules = run(cli_env, "--help")

    for name in (*OTHER_COMMANDS, "sql", "report"):
        assert f"    {name}" in result.stdout
    assert heavy(modules) == []
