# SPDX-License-Identifier: Apache-2.0
"""Every migration has a cluster form: tables per shard behind Distributed tables, views per shard, ON CLUSTER
with a Keeper, Replicated engines when asked; a statement of an unknown form is refused naming its migration."""

from __future__ import annotations

import re

import pytest

from llmledger.collector.exporters.clickhouse import migrations
from llmledger.collector.exporters.clickhouse.cluster_schema import Cluster, ClusterRenderer
from llmledger.collector.exporters.clickhouse.errors import BadQuery


@pytest.fixture(scope="module")
def script() -> str:
    return migrations.render("db", raw_spans=True, sql_only=True, cluster=Cluster("ledger", replicated=True))


def test_every_table_is_local_per_shard_with_a_distributed_table_of_its_name_in_front(script):
    created = re.findall(r"^CREATE TABLE IF NOT EXISTS `db`\.(\w+) ON CLUSTER 'ledger'", script, re.MULTILINE)
    locals_ = {name for name in created if name.endswith("_local")}
    assert {"llm_calls_local", "llm_usage_hourly_local", "llm_trace_costs_local"} <= locals_
    assert {f"{name}_local" for name in created if not name.endswith("_local")} == locals_
    assert (
        "CREATE TABLE IF NOT EXISTS `db`.llm_calls ON CLUSTER 'ledger' AS `db`.llm_calls_local "
        "ENGINE = Distributed('ledger', 'db', 'llm_calls_local', cityHash64(TraceId))" in script
    )


def test_views_read_and_write_their_shard_s_tables(script):
    views = re.findall(r"MATERIALIZED VIEW (?:IF NOT EXISTS )?`db`\.(\w+) ON CLUSTER 'ledger' TO `db`\.(\w+)", script)
    assert views and all(target.endswith("_local") for _, target in views)
    assert "FROM `db`.llm_calls\n" not in script and "FROM `db`.llm_calls_local\n" in script


def test_replicated_engines_name_the_shard_and_replica(script):
    assert (
        "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/db/llm_calls_local', '{replica}', Version)"
        in script
    )
    assert "ENGINE = ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/db/llm_usage_hourly_local'" in script


def test_column_changes_reach_both_tables_and_other_changes_the_local_one(script):
    assert "ALTER TABLE `db`.llm_calls_local ON CLUSTER 'ledger' ADD COLUMN IF NOT EXISTS RepricedBy" in script
    assert "ALTER TABLE `db`.llm_calls ON CLUSTER 'ledger' ADD COLUMN IF NOT EXISTS RepricedBy" in script
    assert "ALTER TABLE `db`.llm_calls ON CLUSTER 'ledger' MODIFY SETTING" not in script


def test_without_a_keeper_there_is_no_on_cluster_and_a_backfill_stays_on_its_shard():
    script = migrations.render("db", cluster=Cluster("ledger", on_cluster=False))
    assert "ON CLUSTER" not in script
    assert "INSERT INTO `db`.llm_budget_usage_local" in script


def test_a_statement_without_a_cluster_form_is_refused_naming_its_migration():
    with pytest.raises(BadQuery, match="migration 0099_x: no cluster form"):
        ClusterRenderer(Cluster("ledger"), "db").render("0099_x", "RENAME TABLE `db`.a TO `db`.b")
