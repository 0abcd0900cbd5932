# SPDX-License-Identifier: Apache-2.0
"""A real two-shard ClickHouse cluster on loopback: two embedded engines (chdb-core) whose config.xml carry the
same `<remote_servers>` (cluster `ledger`, one shard per engine), as docs/cluster.md describes.

Fixtures:

* `cluster` (module) — a `TwoShards`: `.nodes` (the two `EmbeddedClickHouse`), `.urls`, `.name`, `.connect(i, db)`,
  `.apply(database)` (the cluster schema on both nodes, as `llmledger schema apply --cluster` run against each),
  `.stop(i)` / `.start(i)` (a shard down and back, its data kept).
* `cluster_database` (function) — a fresh database with the cluster schema on both shards, dropped afterwards.
* `single` (function) — `(name, client)` of a fresh single-node database on the session's engine.

The engines have no ClickHouse Keeper (chdb-core is built without one), so DDL is applied to each node in turn
rather than `ON CLUSTER`, and the tables are sharded, not replicated.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from clickhouse_connect.driver.client import Client

from llmledger.collector.exporters.clickhouse import migrations
from llmledger.collector.exporters.clickhouse.client import connect
from llmledger.collector.exporters.clickhouse.cluster_schema import cluster_of
from llmledger.collector.exporters.clickhouse.embedded import EmbeddedClickHouse, free_port, remote_servers

CLUSTER = "ledger"


@dataclass
class TwoShards:
    nodes: list[EmbeddedClickHouse]
    name: str = CLUSTER
    _clients: list[Client] = field(default_factory=list)

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes]

    def connect(self, index: int, database: str | None = None) -> Client:
        client = connect(self.nodes[index].url, database=database)
        self._clients.append(client)
        return client

    def apply(self, database: str, **options: bool) -> list[list[str]]:
        """The cluster schema applied to each node; the migrations each applied."""
        done = []
        for index in range(len(self.nodes)):
            client = self.connect(index)
            done.append(migrations.apply(client, database, cluster=cluster_of(client, self.name), **options))
        return done

    def stop(self, index: int) -> None:
        self.nodes[index].stop()

    def start(self, index: int) -> None:
        self.nodes[index].start()

    def close(self) -> None:
        for client in self._clients:
            client.close()
        for node in self.nodes:
            node.stop()


def start_cluster(base: Path, shards: int = 2, name: str = CLUSTER) -> TwoShards:
    """`shards` engines under `base`, each a shard of cluster `name`, started and answering."""
    http = [free_port() for _ in range(shards)]
    tcp: list[int] = []
    for _ in range(shards):
        port = free_port()
        while port in http or port in tcp:
            port = free_port()
        tcp.append(port)
    extra = remote_servers(name, tcp)
    nodes = [
        EmbeddedClickHouse(base / f"shard{index + 1}", http[index], tcp[index], config_extra=extra)
        for index in range(shards)
    ]
    started = TwoShards([])
    try:
        for node in nodes:
            started.nodes.append(node.start())
    except BaseException:
        started.close()
        raise
    return started


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoShards]:
    shards = start_cluster(tmp_path_factory.mktemp("cluster"))
    yield shards
    shards.close()


@pytest.fixture
def cluster_database(cluster: TwoShards) -> Iterator[str]:
    name = f"llmledger_cluster_{uuid.uuid4().hex[:8]}"
    cluster.apply(name, raw_spans=True)
    yield name
    for index, node in enumerate(cluster.nodes):
        if node.running:
            cluster.connect(index).command(f"DROP DATABASE IF EXISTS {name} SYNC")


@pytest.fixture
def single(clickhouse, tmp_path):
    """A fresh single-node database on the session's engine, and a client of it: the answers a cluster must give."""
    name = f"llmledger_single_{tmp_path.name[-8:].replace('-', '_')}"
    client = clickhouse.connect()
    migrations.apply(client, name, raw_spans=True)
    yield name, clickhouse.connect(name)
    client.command(f"DROP DATABASE IF EXISTS {name} SYNC")
