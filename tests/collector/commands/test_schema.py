# SPDX-License-Identifier: Apache-2.0
"""`llmledger schema apply` creates the schema once, says so, and can print it instead."""

from __future__ import annotations

import uuid


def test_print_shows_the_sql_without_touching_a_server(cli):
    result = cli("schema", "apply", "--print", "--raw-spans", "--database", "analytics", connect=False)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("CREATE DATABASE IF NOT EXISTS `analytics`;")
    assert "CREATE TABLE IF NOT EXISTS `analytics`.llm_calls" in result.stdout
    assert "CREATE MATERIALIZED VIEW IF NOT EXISTS `analytics`.llm_usage_hourly_mv" in result.stdout
    assert "CREATE TABLE IF NOT EXISTS `analytics`.otel_traces" in result.stdout


def test_apply_reports_what_it_applied_and_then_that_nothing_was_left(cli, clickhouse):
    database = f"schema_cli_{uuid.uuid4().hex[:8]}"
    target = ("--clickhouse-url", clickhouse.url, "--database", database)
    try:
        first = cli("schema", "apply", *target, connect=False)
        second = cli("schema", "apply", *target, connect=False)
    finally:
        clickhouse.client.command(f"DROP DATABASE IF EXISTS {database} SYNC")

    assert first.returncode == 0, first.stderr
    assert f"applied to database {database} ({clickhouse.url}): 0001_llm_calls, 0002_llm_rollups" in first.stdout
    assert "otel_traces" not in first.stdout
    assert second.returncode == 0, second.stderr
    assert "already up to date" in second.stdout


def test_a_database_name_that_is_not_an_identifier_exits_2(cli, clickhouse):
    result = cli("schema", "apply", "--clickhouse-url", clickhouse.url, "--database", "a-b", connect=False)

    assert result.returncode == 2
    assert "database name 'a-b' must be letters, digits and underscores" in result.stderr
