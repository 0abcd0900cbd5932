# SPDX-License-Identifier: Apache-2.0
"""Several collectors, one clustered database: a span delivered to two collectors is one row of llm_calls (both
copies land on the shard of its trace, where ReplacingMergeTree keeps one), and a budget threshold fires once,
not once per collector (each claims the alert in ClickHouse and only the first claim announces it)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from llmledger._core.budget_file import Budget, BudgetFile, Scope, Window
from llmledger.collector.budgets import AlertEvaluator, read_status
from llmledger.collector.exporters.clickhouse.writer import insert_llm_calls
from llmledger.collector.llm_calls import LlmCall
from tests.collector.running import wait_for

from .conftest import CLUSTER
from .test_cluster import collector_on, post, requests, stored


def test_a_span_delivered_to_two_collectors_is_one_call(cluster, cluster_database):
    bodies, costs = requests(4, first=20_000)
    collectors = [collector_on(url, cluster_database, "--cluster", CLUSTER) for url in cluster.urls]
    try:
        for body in bodies:
            for running in collectors:
                post(running, body)
        client = cluster.connect(0)
        expected = (len(costs), sum(costs.values(), Decimal(0)))
        wait_for(lambda: stored(client, cluster_database), expected, timeout=60)
        # Both copies of each call are on the shard of its trace: FINAL there keeps one.
        shards = client.query(
            f"SELECT TraceId, uniqExact(_shard_num) FROM {cluster_database}.llm_calls GROUP BY TraceId"
        ).result_rows
        assert len(shards) == len(costs) and {count for _, count in shards} == {1}
    finally:
        for running in collectors:
            running.stop()


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
