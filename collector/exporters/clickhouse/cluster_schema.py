# SPDX-License-Identifier: Apache-2.0
"""The single-node migrations rendered for a ClickHouse cluster: what `llmledger schema apply --cluster` runs.

No migration is written twice: each statement of `migrations/NNNN_*.sql` is rewritten here, by its form.

- `CREATE TABLE X (…) ENGINE = E …`: the table becomes `X_local` on every shard (`Replicated` E when the cluster
  has a Keeper), and `X` a `Distributed` table in front of it, so every query, report and insert that names `X`
  reaches all shards unchanged. Sharding key: `cityHash64(TraceId)` for a table with a TraceId column, so a
  trace's calls, their re-pricings and their trace rollup rows are on one shard, and a call delivered twice lands
  twice on the same shard, where ReplacingMergeTree (FINAL) collapses it; otherwise the hash of the table's
  ordering key, so the rows one replacing key collapses are on one shard as well.
- `CREATE [OR REPLACE] MATERIALIZED VIEW V TO T AS SELECT …`: V exists on every shard and writes `T_local`;
  it reads the local table of every trace-sharded table it names (the shard's own calls), and the Distributed
  table of every other (prices, rules: the same on every shard).
- `ALTER TABLE X …`: column changes go to `X_local` and `X` (a Distributed table has the columns too); index,
  setting, TTL and projection changes to `X_local` only.
- `DROP TABLE X`: both tables. Views (`CREATE VIEW`, `DROP VIEW`) are the same on every node.
- `INSERT … SELECT` (a backfill): through the Distributed tables once with `ON CLUSTER`; otherwise, as it runs on
  every node, each node fills its local tables from its local tables (its own shard), like the views do.

Every statement gets `ON CLUSTER` when the cluster runs distributed DDL (it needs a Keeper); without one (the
embedded engine, clickhouse-local, refuses `ON CLUSTER`) the same statements are applied to each node in turn.
A statement of another form is refused with an error naming its migration, so a new migration that this module
cannot render fails the tests rather than a deployment.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DatabaseError

from .client import translate_errors
from .errors import BadQuery

LOCAL_SUFFIX = "_local"
TRACE_COLUMN = "TraceId"

_NAME = r"`?[A-Za-z_][A-Za-z0-9_]*`?"
_CREATE_TABLE = re.compile(rf"^CREATE TABLE IF NOT EXISTS ({_NAME})\.({_NAME})\s*\(", re.DOTALL)
_CREATE_MV = re.compile(
    rf"^CREATE (OR REPLACE )?MATERIALIZED VIEW (IF NOT EXISTS )?({_NAME})\.({_NAME}) TO ({_NAME})\.({_NAME})(\s+AS\s)",
    re.DOTALL,
)
_CREATE_VIEW = re.compile(rf"^CREATE (OR REPLACE )?VIEW (IF NOT EXISTS )?({_NAME})\.({_NAME})(\s)", re.DOTALL)
_ALTER = re.compile(rf"^ALTER TABLE ({_NAME})\.({_NAME})\s+(.*)$", re.DOTALL)
_DROP = re.compile(rf"^DROP (TABLE|VIEW) IF EXISTS ({_NAME})\.({_NAME})\s*$", re.DOTALL)
_INSERT = re.compile(r"^INSERT INTO ", re.DOTALL)
_ENGINE = re.compile(r"^ENGINE = (\w+)(?:\((.*)\))?\s*$", re.MULTILINE)
_ORDER_BY = re.compile(r"^ORDER BY (.+?)\s*$", re.MULTILINE)
_COLUMN = re.compile(r"^\s+([A-Za-z_][A-Za-z0-9_]*)\s+[A-Z]", re.MULTILINE)
_COLUMN_CHANGE = re.compile(r"^(ADD|DROP|MODIFY|RENAME|COMMENT|CLEAR) COLUMN\b")


@dataclass(frozen=True, slots=True)
class Cluster:
    """A ClickHouse cluster as `<remote_servers>` names it.

    `on_cluster`: DDL runs once, `ON CLUSTER` (the cluster has a Keeper for distributed DDL); False: the caller
    runs the same statements on every node. `replicated`: `Replicated*` engines (a Keeper, and `<macros>` with
    `shard` and `replica` on every node).
    """

    name: str
    on_cluster: bool = True
    replicated: bool = False

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", self.name):
            raise BadQuery(f"cluster name {self.name!r} must be letters, digits, '_', '.' and '-'")

    @property
    def clause(self) -> str:
        """` ON CLUSTER 'name'`, or nothing when the statements are run on each node."""
        return f" ON CLUSTER '{self.name}'" if self.on_cluster else ""


@dataclass(frozen=True, slots=True)
class _Table:
    trace_sharded: bool
    shard_key: str


class ClusterRenderer:
    """Renders statements of the migrations, in order, for `cluster`; remembers the tables it has seen."""

    def __init__(self, cluster: Cluster, database: str) -> None:
        self.cluster = cluster
        self.database = database
        self._tables: dict[str, _Table] = {}

    def learn(self, statements: Iterable[str]) -> None:
        """Note the tables `statements` create (migrations already applied still define which tables exist)."""
        for statement in statements:
            code = _without_leading_comments(statement)
            match = _CREATE_TABLE.match(code)
            if match:
                self._tables[_bare(match.group(2))] = _describe(code)

    def render(self, migration: str, statement: str) -> list[str]:
        """The cluster statements for one statement of `migration` (its name, for errors)."""
        code = _without_leading_comments(statement)
        if match := _CREATE_TABLE.match(code):
            return self._create_table(code, match)
        if match := _CREATE_MV.match(code):
            return [self._create_view(code, match)]
        if match := _CREATE_VIEW.match(code):
            return [f"{code[: match.end(4)]}{self.cluster.clause}{code[match.end(4) :]}"]
        if match := _ALTER.match(code):
            return self._alter(migration, match)
        if match := _DROP.match(code):
            kind, name = match.group(1), _bare(match.group(3))
            drops = [f"DROP {kind} IF EXISTS {self._qualified(name)}{self.cluster.clause}"]
            if kind == "TABLE":
                drops.append(f"DROP TABLE IF EXISTS {self._qualified(name + LOCAL_SUFFIX)}{self.cluster.clause}")
            return drops
        if _INSERT.match(code):
            return [code if self.cluster.on_cluster else self._locally(code, lambda table: True)]
        first = code.splitlines()[0] if code else ""
        raise BadQuery(f"migration {migration}: no cluster form for the statement {first!r}")

    def create_database(self, quoted: str) -> str:
        return f"CREATE DATABASE IF NOT EXISTS {quoted}{self.cluster.clause}"

    # -- forms ------------------------------------------------------------------------------------------------
    def _create_table(self, code: str, match: re.Match[str]) -> list[str]:
        name = _bare(match.group(2))
        table = _describe(code)
        self._tables[name] = table
        local = name + LOCAL_SUFFIX
        head = f"CREATE TABLE IF NOT EXISTS {self._qualified(local)}{self.cluster.clause} ("
        body = code[match.end() :]
        if self.cluster.replicated:
            body = _ENGINE.sub(lambda engine: self._replicated(engine, local), body, count=1)
        front = (
            f"CREATE TABLE IF NOT EXISTS {self._qualified(name)}{self.cluster.clause} AS {self._qualified(local)} "
            f"ENGINE = Distributed('{self.cluster.name}', '{self.database}', '{local}', {table.shard_key})"
        )
        return [head + body, front]

    def _create_view(self, code: str, match: re.Match[str]) -> str:
        replace, exists, _, view, _, target, as_ = match.groups()
        name = self._qualified(_bare(view))
        head = (
            f"CREATE {replace or ''}MATERIALIZED VIEW {exists or ''}{name}{self.cluster.clause} "
            f"TO {self._qualified(_bare(target) + LOCAL_SUFFIX)}{as_}"
        )
        return head + self._locally(code[match.end() :], lambda table: table.trace_sharded)

    def _locally(self, code: str, which: Callable[[_Table], bool]) -> str:
        """`code` reading the local table of each table it names that `which` picks."""
        database = re.escape(f"`{self.database}`")

        def local(reference: re.Match[str]) -> str:
            name = reference.group(1)
            table = self._tables.get(name)
            return self._qualified(name + LOCAL_SUFFIX) if table and which(table) else reference.group(0)

        return re.sub(rf"{database}\.`?([A-Za-z_][A-Za-z0-9_]*)`?(?![A-Za-z0-9_])", local, code)

    def _alter(self, migration: str, match: re.Match[str]) -> list[str]:
        name, action = _bare(match.group(2)), match.group(3)
        if name not in self._tables:
            raise BadQuery(f"migration {migration}: ALTER TABLE {name}, a table no migration creates")
        local = f"ALTER TABLE {self._qualified(name + LOCAL_SUFFIX)}{self.cluster.clause} {action}"
        if _COLUMN_CHANGE.match(action):
            return [local, f"ALTER TABLE {self._qualified(name)}{self.cluster.clause} {action}"]
        return [local]

    def _replicated(self, engine: re.Match[str], local: str) -> str:
        kind, arguments = engine.group(1), engine.group(2)
        if not kind.endswith("MergeTree") or kind.startswith("Replicated"):
            return engine.group(0)
        path = f"'/clickhouse/tables/{{shard}}/{self.database}/{local}', '{{replica}}'"
        return f"ENGINE = Replicated{kind}({path}{', ' + arguments if arguments else ''})"

    def _qualified(self, name: str) -> str:
        return f"`{self.database}`.{name}"


def _describe(code: str) -> _Table:
    columns_end = _ENGINE.search(code)
    columns = set(_COLUMN.findall(code[: columns_end.start() if columns_end else len(code)]))
    if TRACE_COLUMN in columns:
        return _Table(True, f"cityHash64({TRACE_COLUMN})")
    order = _ORDER_BY.search(code)
    key = order.group(1).strip() if order else "tuple()"
    if key.startswith("(") and key.endswith(")"):
        key = key[1:-1]
    return _Table(False, f"cityHash64({key})" if key and key != "tuple()" else "rand()")


def _bare(name: str) -> str:
    return name.strip("`")


def _without_leading_comments(statement: str) -> str:
    lines = statement.strip().splitlines()
    while lines and (not lines[0].strip() or lines[0].lstrip().startswith("--")):
        lines.pop(0)
    return "\n".join(lines).strip()


def cluster_of(client: Client, name: str, *, replicated: bool = False) -> Cluster:
    """The cluster `name` as the server of `client` knows it: BadQuery when its `<remote_servers>` lacks it, or
    when `replicated` is asked of a server without a Keeper. DDL goes `ON CLUSTER` when the server has a Keeper."""
    with translate_errors():
        shards = client.command(
            "SELECT count() FROM system.clusters WHERE cluster = {name:String}", parameters={"name": name}
        )
        if not int(shards):  # type: ignore[arg-type]
            raise BadQuery(f"cluster {name!r} is not in the <remote_servers> of this ClickHouse server")
        keeper = _has_keeper(client)
    if replicated and not keeper:
        raise BadQuery(f"replicated tables on cluster {name!r} need a ClickHouse Keeper, and this server has none")
    return Cluster(name, on_cluster=keeper, replicated=replicated)


def other_nodes(client: Client, name: str) -> list[str]:
    """`host:tcp_port` of the nodes of cluster `name` other than the one `client` talks to."""
    with translate_errors():
        rows = client.query(
            "SELECT host_name, port FROM system.clusters WHERE cluster = {name:String} AND NOT is_local "
            "ORDER BY shard_num, replica_num",
            parameters={"name": name},
        ).result_rows
    return [f"{host}:{port}" for host, port in rows]


def _has_keeper(client: Client) -> bool:
    """Whether the server is connected to a (Zoo)Keeper; clickhouse-local, the embedded engine, has no such table."""
    try:
        return bool(int(client.command("SELECT count() FROM system.zookeeper_connection")))  # type: ignore[arg-type]
    except DatabaseError:
        return False
