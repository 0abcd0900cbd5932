# SPDX-License-Identifier: Apache-2.0
"""`llmledger sql` prints exact numbers in every format, runs the named queries, and fails politely."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import uuid
from collections import defaultdict
from decimal import Decimal

import pytest

from llmledger.collector.exporters.clickhouse import migrations
from llmledger.collector.exporters.clickhouse.embedded import EmbeddedClickHouse
from llmledger.collector.exporters.clickhouse.queries import named_queries

SPEND_BY_TENANT = (
    "SELECT Tenant, sum(TotalCost) AS spend, count() AS calls FROM llm_calls FINAL GROUP BY Tenant ORDER BY Tenant"
)


def plain(value: Decimal) -> str:
    """A Decimal the way ClickHouse prints it: no exponent, no trailing zeros."""
    return f"{value.normalize():f}"


def spend_by_tenant(calls):
    spend: dict[str, Decimal] = defaultdict(Decimal)
    count: dict[str, int] = defaultdict(int)
    for call in calls:
        spend[call.tenant] += call.total_cost
        count[call.tenant] += 1
    return spend, count


def test_table_format_shows_each_row_with_exact_costs(cli, loaded):
    result = cli("sql", SPEND_BY_TENANT)

    assert result.returncode == 0, result.stderr
    spend, count = spend_by_tenant(loaded)
    lines = result.stdout.splitlines()
    assert "Tenant" in lines[0] or "Tenant" in lines[1]
    for tenant in ("acme", "globex"):
        (line,) = [line for line in lines if f" {tenant} " in line]
        assert plain(spend[tenant]) in line
        assert f" {count[tenant]} " in line


def test_csv_format_has_a_header_and_exact_values(cli, loaded):
    result = cli("sql", SPEND_BY_TENANT, "--format", "csv")

    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    spend, count = spend_by_tenant(loaded)
    assert {row["Tenant"]: (Decimal(row["spend"]), int(row["calls"])) for row in rows} == {
        tenant: (spend[tenant], count[tenant]) for tenant in spend
    }


def test_json_format_is_one_array_of_objects_with_numbers_as_numbers(cli, loaded):
    result = cli("sql", SPEND_BY_TENANT, "-f", "json")

    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout, parse_float=Decimal)  # one document
    spend, count = spend_by_tenant(loaded)
    assert [row["Tenant"] for row in rows] == sorted(spend)
    assert {row["Tenant"]: (row["spend"], row["calls"]) for row in rows} == {
        tenant: (spend[tenant], count[tenant]) for tenant in spend
    }


@pytest.mark.parametrize("fmt", ["jsonl", "jsonlines"])
def test_jsonl_format_is_one_object_per_line_with_numbers_as_numbers(cli, loaded, fmt):
    result = cli("sql", SPEND_BY_TENANT, "-f", fmt)

    assert result.returncode == 0, result.stderr
    rows = [json.loads(line, parse_float=Decimal) for line in result.stdout.splitlines()]
    spend, count = spend_by_tenant(loaded)
    assert {row["Tenant"]: (row["spend"], row["calls"]) for row in rows} == {
        tenant: (spend[tenant], count[tenant]) for tenant in spend
    }


def test_an_empty_json_result_is_an_empty_array(cli, loaded):
    result = cli("sql", "SELECT Tenant FROM llm_calls WHERE Tenant = 'nobody'", "-f", "json")

    assert (result.returncode, json.loads(result.stdout), result.stderr) == (0, [], "(no rows)\n")


def test_query_parameters_are_bound_by_the_server(cli, loaded):
    result = cli("sql", "SELECT count() AS n FROM llm_calls WHERE Tenant = {t:String}", "-p", "t=acme", "-f", "csv")

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1] == str(sum(1 for call in loaded if call.tenant == "acme"))


def test_query_list_names_every_named_query_with_its_title(cli):
    result = cli("sql", "--query", "list", connect=False)

    assert result.returncode == 0, result.stderr
    listed = {line.split()[0] for line in result.stdout.splitlines()}
    assert listed == set(named_queries())
    assert len(listed) >= 15


def test_a_named_query_answers_with_its_defaults(cli, loaded):
    result = cli("sql", "--query", "spend_by_model", "-f", "json")

    assert result.returncode == 0, result.stderr
    expected: dict[str, Decimal] = defaultdict(Decimal)
    for call in loaded:
        expected[call.priced_model or call.response_model] += call.total_cost
    rows = json.loads(result.stdout, parse_float=Decimal)
    assert {row["model"]: row["spend_usd"] for row in rows} == expected
    assert [row["spend_usd"] for row in rows] == sorted(expected.values(), reverse=True)


def test_a_named_query_takes_parameters(cli, loaded):
    result = cli("sql", "--query", "total_spend", "-p", "tenant=globex", "-p", "days=7", "-f", "json")

    assert result.returncode == 0, result.stderr
    (row,) = json.loads(result.stdout, parse_float=Decimal)
    spend, count = spend_by_tenant(loaded)
    assert (row["spend_usd"], row["calls"], row["previous_calls"]) == (spend["globex"], count["globex"], 0)


def test_show_sql_prints_the_named_query_without_running_it(cli):
    result = cli("sql", "--query", "trace_costs", "--show-sql", connect=False)

    assert result.returncode == 0, result.stderr
    assert "-- title: Most expensive traces" in result.stdout
    assert "FROM llm_trace_costs" in result.stdout


def test_without_a_url_it_uses_a_temporary_embedded_server_with_the_schema(cli, tmp_path):
    with EmbeddedClickHouse(tmp_path):  # the data directory as a collector leaves it
        pass

    result = cli("sql", "SELECT count() FROM llm_calls", "--data-dir", str(tmp_path), "-f", "csv", connect=False)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "0"
    assert not (tmp_path / "clickhouse-server.json").exists()  # stopped again


def test_a_wrong_query_exits_2_with_the_servers_message_and_no_traceback(cli):
    result = cli("sql", "SELEC 1")

    assert result.returncode == 2
    assert "ClickHouse error 62" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unknown_named_query_or_parameter_exits_2(cli):
    unknown = cli("sql", "--query", "spend_by_moon")
    bad_param = cli("sql", "--query", "spend_by_model", "-p", "days=many")
    extra_param = cli("sql", "--query", "spend_by_model", "-p", "colour=red")

    assert (unknown.returncode, bad_param.returncode, extra_param.returncode) == (2, 2, 2)
    assert "no named query 'spend_by_moon'" in unknown.stderr
    assert "days must be an integer" in bad_param.stderr
    assert "has no parameter colour" in extra_param.stderr


def test_sql_and_a_named_query_together_is_a_usage_error(cli):
    result = cli("sql", "SELECT 1", "--query", "total_spend")

    assert result.returncode == 2
    assert "either a SQL query or --query NAME" in result.stderr


def test_an_unreachable_server_exits_1_naming_it(cli):
    result = cli("sql", "SELECT 1", "--clickhouse-url", "http://127.0.0.1:9", connect=False)

    assert result.returncode == 1
    assert "cannot reach ClickHouse at http://127.0.0.1:9" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_server_can_come_from_the_environment(cli_env, clickhouse, database):
    cli_env = {**cli_env, "LLMLEDGER_CLICKHOUSE_URL": clickhouse.url, "LLMLEDGER_CLICKHOUSE_DATABASE": database}
    result = subprocess.run(
        [sys.executable, "-m", "llmledger.collector.cli", "sql", "SELECT currentDatabase()", "-f", "csv"],
        capture_output=True,
        text=True,
        env=cli_env,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1] == f'"{database}"'


def test_a_database_without_the_schema_exits_2_saying_how_to_create_it(cli, clickhouse):
    result = cli("sql", "SELECT 1", "--clickhouse-url", clickhouse.url, "--database", "nowhere", connect=False)

    assert result.returncode == 2
    assert "database nowhere does not exist" in result.stderr
    assert "llmledger schema apply" in result.stderr


def test_a_write_is_refused_by_the_server_with_a_clear_message(cli, client, loaded):
    before = client.command("SELECT count() FROM llm_calls")

    for statement in (
        "INSERT INTO llm_calls (TraceId, SpanId) VALUES ('t', 's')",
        "INSERT INTO llm_calls (TraceId, SpanId) SETTINGS readonly = 0 VALUES ('t', 's')",
        "SELECT 1 SETTINGS readonly = 0",
        "CREATE TABLE sneaky (x UInt8) ENGINE = Memory",
        "TRUNCATE TABLE llm_calls",
    ):
        result = cli("sql", statement)

        assert result.returncode == 2, (statement, result.stdout, result.stderr)
        assert "read-only" in result.stderr and "--allow-writes" in result.stderr
        assert "Traceback" not in result.stderr
    assert client.command("SELECT count() FROM llm_calls") == before
    assert not client.command("EXISTS TABLE sneaky")


def test_allow_writes_lets_a_write_through(cli, client):
    client.command("CREATE TABLE IF NOT EXISTS scratch (x UInt8) ENGINE = Memory")

    result = cli("sql", "INSERT INTO scratch VALUES (7)", "--allow-writes")

    assert result.returncode == 0, result.stderr
    assert client.command("SELECT sum(x) FROM scratch") == 7


def test_reads_still_set_their_output_format_under_read_only(cli, loaded):
    result = cli("sql", "SELECT toDecimal64(1.5, 3) AS n", "-f", "json")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [{"n": 1.5}]


def test_an_empty_result_says_so_in_the_table_and_on_stderr_for_machine_formats(cli, loaded):
    empty = "SELECT Tenant FROM llm_calls WHERE Tenant = 'nobody'"

    table = cli("sql", empty)
    csv_text = cli("sql", empty, "-f", "csv")

    assert (table.returncode, table.stdout) == (0, "(no rows)\n")
    assert (csv_text.stdout, csv_text.stderr) == ('"Tenant"\n', "(no rows)\n")  # the header stays parseable


def test_the_running_embedded_server_is_used_and_a_database_lacking_migrations_gets_them(cli, clickhouse, client):
    fresh = f"fresh_{uuid.uuid4().hex[:8]}"
    try:
        result = cli(
            "sql", "SELECT count() FROM llm_calls", "--data-dir", str(clickhouse.data_dir), "--database", fresh,
            "-f", "csv", connect=False,
        )  # fmt: skip

        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines()[-1] == "0"
        applied = client.command(f"SELECT count() FROM {fresh}.llmledger_migrations")
        assert applied == len(migrations.migrations())
    finally:
        client.command(f"DROP DATABASE IF EXISTS {fresh} SYNC")
