# SPDX-License-Identifier: Apache-2.0
"""llmledger on a real two-shard ClickHouse cluster (two embedded engines on loopback, one `<remote_servers>`).

Two collectors write concurrently through the Distributed tables, each talking to its own shard; what they store
answers every named query and `llmledger report` exactly as one node loaded with the same spans does. A shard that
is down holds inserts in the collector's durable queue, and nothing is lost or counted twice once it is back.
The cluster schema applies twice without change; a database of the other layout is refused.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import urllib.request
import uuid
from decimal import Decimal

import pytest

from llmledger.collector.exporters.clickhouse import migrations
from llmledger.collector.exporters.clickhouse.cluster_schema import cluster_of
from llmledger.collector.exporters.clickhouse.errors import BadQuery
from llmledger.collector.exporters.clickhouse.queries import named_queries
from tests.collector.faults.load import llm_request
from tests.collector.running import Collector, start_collector, wait_for

from .conftest import CLUSTER, TwoShards

SPANS_PER_REQUEST = 25


def post(collector: Collector, body: bytes) -> None:
    request = urllib.request.Request(
        collector.http_url, data=body, headers={"Content-Type": "application/x-protobuf"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200


def requests(count: int, first: int = 0) -> tuple[list[bytes], dict[str, Decimal]]:
    bodies, costs = [], {}
    for index in range(count):
        request, request_costs = llm_request(first + index * SPANS_PER_REQUEST, SPANS_PER_REQUEST)
        bodies.append(request.SerializeToString())
        costs.update(request_costs)
    return bodies, costs


def collector_on(url: str, database: str, *cluster: str) -> Collector:
    return start_collector(["--clickhouse-url", url, "--database", database, "--flush-interval", "0.2", *cluster])


def stored(client, database: str) -> tuple[int, Decimal]:
    count, total = client.query(f"SELECT count(), sum(TotalCost) FROM {database}.llm_calls FINAL").result_rows[0]
    return int(count), Decimal(total)


def answers(client) -> dict[str, list[tuple]]:
    """Every named query's rows; budget_burn's projections (floats that move with now()) left out."""
    found = {name: client.query(q.sql, parameters=q.bind()).result_rows for name, q in named_queries().items()}
    found["budget_burn"] = [tuple(v for v in row if not isinstance(v, float)) for row in found["budget_burn"]]
    return found


def report(url: str, database: str) -> str:
    command = [sys.executable, "-m", "llmledger.collector.cli", "report", "--clickhouse-url", url]
    command += ["--database", database, "--format", "json"]
    return subprocess.run(command, check=True, capture_output=True, text=True, timeout=120).stdout


def test_two_collectors_on_two_shards_answer_every_question_as_one_node(cluster, cluster_database, single, clickhouse):
    bodies, costs = requests(8)
    collectors = [collector_on(url, cluster_database, "--cluster", CLUSTER) for url in cluster.urls]
    reference = collector_on(clickhouse.url, single[0])
    try:
        halves = [bodies[0::2], bodies[1::2]]
        senders = [
            threading.Thread(target=lambda c=c, half=half: [post(c, body) for body in half])
            for c, half in zip(collectors, halves, strict=True)
        ]
        for sender in senders:
            sender.start()
        for body in bodies:
            post(reference, body)
        for sender in senders:
            sender.join()
        expected = (len(costs), sum(costs.values(), Decimal(0)))
        first = cluster.connect(0)
        wait_for(lambda: stored(first, cluster_database), expected, timeout=60)
        wait_for(lambda: stored(single[1], single[0]), expected, timeout=60)
    finally:
        for running in [*collectors, reference]:
            running.stop()

    # Both shards hold calls: the cluster really is sharded.
    for index in range(2):
        assert cluster.connect(index, cluster_database).command("SELECT count() FROM llm_calls_local") > 0
    for index in range(2):
        assert answers(cluster.connect(index, cluster_database)) == answers(single[1])
    assert json.loads(report(cluster.urls[1], cluster_database)) == json.loads(report(clickhouse.url, single[0]))


def test_a_shard_that_is_down_holds_inserts_in_the_queue_and_none_is_lost_or_counted_twice(cluster, cluster_database):
    bodies, costs = requests(6, first=10_000)
    writer = collector_on(cluster.urls[0], cluster_database, "--cluster", CLUSTER)
    try:
        cluster.stop(1)
        try:
            for body in bodies:
                post(writer, body)  # acknowledged: in the durable queue
            local = cluster.connect(0, cluster_database)
            # Calls of the live shard may be written; those of the shard that is down cannot be.
            assert local.command("SELECT count() FROM llm_calls_local") < len(costs)
        finally:
            cluster.start(1)
        expected = (len(costs), sum(costs.values(), Decimal(0)))
        wait_for(lambda: stored(cluster.connect(0), cluster_database), expected, timeout=90)
    finally:
        writer.stop()
    client = cluster.connect(1, cluster_database)
    assert client.command("SELECT count() FROM llm_calls") == len(costs)  # not a row twice, even before merges
    spend = client.query("SELECT sum(TotalCost), sum(Calls) FROM llm_usage_hourly").result_rows[0]
    assert (Decimal(spend[0]), int(spend[1])) == (expected[1], len(costs))  # the rollups counted each call once


def test_the_cluster_schema_applies_twice_without_change(cluster: TwoShards, cluster_database):
    def schema(index: int) -> list[tuple]:
        return (
            cluster.connect(index)
            .query(
                "SELECT name, engine_full, create_table_query FROM system.tables WHERE database = {db:String} "
                "ORDER BY name",
                parameters={"db": cluster_database},
            )
            .result_rows
        )

    before = [schema(0), schema(1)]
    assert cluster.apply(cluster_database, raw_spans=True) == [[], []]
    assert [schema(0), schema(1)] == before
    engines = {name: engine for name, engine, _ in before[0]}
    assert engines["llm_calls"].startswith(f"Distributed('{CLUSTER}', '{cluster_database}', 'llm_calls_local'")
    assert "cityHash64(TraceId)" in engines["llm_calls"] and "cityHash64(TraceId)" in engines["llm_trace_costs"]
    assert engines["llm_calls_local"].startswith("ReplacingMergeTree(Version)")


def test_a_database_of_the_other_layout_is_refused(cluster: TwoShards, cluster_database, single):
    node = cluster.connect(0)
    with pytest.raises(BadQuery, match="sharded over cluster ledger"):
        migrations.apply(node, cluster_database)
    with pytest.raises(BadQuery, match="created for a single node"):
        migrations.apply(single[1], single[0], cluster=cluster_of(node, CLUSTER))
    with pytest.raises(BadQuery, match="not in the <remote_servers>"):
        cluster_of(node, "no_such_cluster")


def cli(*arguments: str) -> str:
    command = [sys.executable, "-m", "llmledger.collector.cli", *arguments]
    return subprocess.run(command, check=True, capture_output=True, text=True, timeout=120).stdout


def test_schema_apply_with_cluster_goes_to_each_node_and_names_the_others(cluster: TwoShards):
    database = f"llmledger_cli_{uuid.uuid4().hex[:8]}"
    try:
        first, second = (
            cli("schema", "apply", "--cluster", CLUSTER, "--clickhouse-url", url, "--database", database)
            for url in cluster.urls
        )
        assert f"applied to database {database}" in first
        assert f"apply it to the other nodes of cluster {CLUSTER} too (127.0.0.1:{cluster.nodes[1].tcp_port})" in first
        assert f"127.0.0.1:{cluster.nodes[0].tcp_port}" in second
        again = cli(
            "schema", "apply", "--cluster", CLUSTER, "--clickhouse-url", cluster.urls[0], "--database", database
        )
        assert "already up to date" in again
        engine = cluster.connect(1).command(
            "SELECT engine FROM system.tables WHERE database = {db:String} AND name = 'llm_calls'",
            parameters={"db": database},
        )
        assert engine == "Distributed"
    finally:
        for index in range(2):
            cluster.connect(index).command(f"DROP DATABASE IF EXISTS {database} SYNC")
    printed = cli("schema", "apply", "--print", "--cluster", CLUSTER, "--database", database)
    assert f"ENGINE = Distributed('{CLUSTER}', '{database}', 'llm_calls_local', cityHash64(TraceId))" in printed
    assert f"ON CLUSTER '{CLUSTER}'" in printed
