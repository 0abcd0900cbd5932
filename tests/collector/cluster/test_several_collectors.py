# SPDX-License-Identifier: Apache-2.0
"""Several collectors, one database: a span delivered to two collectors is one row of llm_calls (on a cluster both
copies land on the shard of its trace, where ReplacingMergeTree keeps one) and, once the collector that stored it
second has taken its copy back, one call in every rollup, so every named query and the report answer as if it had
been delivered once; a budget threshold fires once, not once per collector (each claims the alert in ClickHouse
and only the first claim announces it)."""

from __future__ import annotations

import json
import re
import threading
import urllib.request
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from llmledger._core.budget_file import Budget, BudgetFile, Scope, Window
from llmledger.collector.budgets import AlertEvaluator, read_status
from llmledger.collector.exporters.clickhouse import migrations
from llmledger.collector.exporters.clickhouse.writer import insert_llm_calls
from llmledger.collector.llm_calls import LlmCall
from tests.collector.running import Collector, wait_for

from .conftest import CLUSTER
from .test_cluster import answers, collector_on, post, report, requests, stored

SETTLE = ("--duplicate-settle", "0.5")


def deliver_everything_twice(collectors: list[Collector], bodies: list[bytes]) -> None:
    """Every request sent to each collector at once, as a client retrying through a load balancer does."""
    senders = [threading.Thread(target=lambda c=c: [post(c, body) for body in bodies]) for c in collectors]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()


def taken_back(collector: Collector) -> int:
    """`llmledger_collector_taken_back_calls_total` of a running collector's /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{collector.http_port}/metrics", timeout=10) as response:
        found = re.search(r"^llmledger_collector_taken_back_calls_total (\d+)", response.read().decode(), re.M)
    assert found, "no taken_back_calls_total in /metrics"
    return int(found.group(1))


def test_a_span_delivered_to_two_collectors_is_one_call_in_every_answer(cluster, cluster_database, single, clickhouse):
    bodies, costs = requests(4, first=20_000)
    collectors = [collector_on(url, cluster_database, "--cluster", CLUSTER, *SETTLE) for url in cluster.urls]
    reference = collector_on(clickhouse.url, single[0])
    try:
        deliver_everything_twice(collectors, bodies)
        for body in bodies:
            post(reference, body)
        client = cluster.connect(0, cluster_database)
        expected = (len(costs), sum(costs.values(), Decimal(0)))
        wait_for(lambda: stored(client, cluster_database), expected, timeout=60)
        wait_for(lambda: stored(single[1], single[0]), expected, timeout=60)
        # Both copies of each call are on the shard of its trace: FINAL there keeps one.
        shards = client.query(
            f"SELECT TraceId, uniqExact(_shard_num) FROM {cluster_database}.llm_calls GROUP BY TraceId"
        ).result_rows
        assert len(shards) == len(costs) and {count for _, count in shards} == {1}
        # Each call was delivered twice, and is taken back once.
        delivered = f"SELECT count() FROM {cluster_database}.llm_call_deliveries"
        wait_for(lambda: client.command(delivered), 2 * len(costs), timeout=60)
        retracted = f"SELECT count() FROM {cluster_database}.llm_call_retractions"
        wait_for(lambda: client.command(retracted), len(costs), timeout=60)
    finally:
        for running in [*collectors, reference]:
            running.stop()
    for index in range(2):
        assert answers(cluster.connect(index, cluster_database)) == answers(single[1])
    assert json.loads(report(cluster.urls[0], cluster_database)) == json.loads(report(clickhouse.url, single[0]))


def test_two_collectors_on_one_node_count_a_call_they_both_stored_once(clickhouse, single, tmp_path):
    shared = f"llmledger_shared_{tmp_path.name[-8:].replace('-', '_')}"
    migrations.apply(clickhouse.connect(), shared)
    bodies, costs = requests(4, first=40_000)
    collectors = [collector_on(clickhouse.url, shared, *SETTLE) for _ in range(2)]
    reference = collector_on(clickhouse.url, single[0])
    try:
        deliver_everything_twice(collectors, bodies)
        for body in bodies:
            post(reference, body)
        client = clickhouse.connect(shared)
        expected = (len(costs), sum(costs.values(), Decimal(0)))
        wait_for(lambda: stored(client, shared), expected, timeout=60)
        wait_for(lambda: stored(single[1], single[0]), expected, timeout=60)
        wait_for(lambda: client.command("SELECT count() FROM llm_call_retractions"), len(costs), timeout=60)
        # Each collector says how many calls it took back (its own deliveries of calls the other stored first).
        wait_for(lambda: sum(taken_back(running) for running in collectors), len(costs), timeout=30)
    finally:
        for running in [*collectors, reference]:
            running.stop()
    try:
        assert answers(clickhouse.connect(shared)) == answers(single[1])
        assert json.loads(report(clickhouse.url, shared)) == json.loads(report(clickhouse.url, single[0]))
    finally:
        clickhouse.client.command(f"DROP DATABASE IF EXISTS {shared} SYNC")


def test_a_threshold_fires_once_whichever_collectors_evaluate_it(cluster, cluster_database):
    now = datetime.now(UTC)
    clients = [cluster.connect(index, cluster_database) for index in range(2)]
    insert_llm_calls(
        clients[0],
        [
            LlmCall(
                timestamp_ns=int((now - timedelta(minutes=5)).timestamp() * 1e9),
                trace_id=f"budget-{index}",
                span_id=f"{index:016x}",
                tenant="shared",
                response_model="gpt-4o-mini",
                total_cost=Decimal("4"),
                cost_source="collector",
            )
            for index in range(3)
        ],
    )
    budgets = BudgetFile(budgets=(Budget("shared-day", Scope(tenant="shared"), Window("day"), Decimal(10)),))
    evaluators = [AlertEvaluator(client) for client in (*clients, clients[0])]  # two collectors on one node too
    fired: list[str] = []
    start = threading.Barrier(len(evaluators))

    def evaluate(evaluator: AlertEvaluator, client) -> None:
        statuses = read_status(client, budgets, now)
        start.wait()
        fired.extend(f"{alert.threshold:g}" for alert in evaluator.evaluate(statuses))

    threads = [
        threading.Thread(target=evaluate, args=(evaluator, client))
        for evaluator, client in zip(evaluators, (*clients, clients[0]), strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(fired) == sorted(f"{threshold:g}" for threshold in budgets.budgets[0].alerts if threshold <= 1.2)
    assert len(fired) == len(set(fired))
    for evaluator, client in zip(evaluators, (*clients, clients[0]), strict=True):  # and never again
        assert evaluator.evaluate(read_status(client, budgets, now)) == []
