# SPDX-License-Identifier: Apache-2.0
"""Ordered, idempotent schema migrations: the `.sql` files of `llmledger.schemas/migrations`, applied in order.

Each file is `NNNN_name.sql`: statements ending in `;` at the end of a line (comments do not count), every
one `… IF NOT EXISTS`, with `{database}` where the database name goes. A file whose header says
`-- llmledger: optional = raw_spans` is applied only when raw spans are enabled, one saying `sql_only` only for
the SQL-only deployment (llm_calls derived inside ClickHouse from the otel_traces another collector writes, with
raw spans). Applied files are recorded in `<database>.llmledger_migrations`, so `apply()` runs each file once;
because the statements are idempotent as well, a run interrupted half-way, or two collectors applying at the
same moment, converge on the same schema without errors. A migration that fills a new rollup from the calls stored
before it marks where its views and its copy meet (`{cutoff}`, `{cutoff:VIEW}`); `backfills.Backfill` renders
those cut-offs and waits for them, so each call is counted once while other collectors insert.

On a cluster (`cluster=Cluster(name)`) the same migrations are rendered by `cluster_schema`: local tables on
every shard with Distributed tables of the same names in front, so queries and inserts do not change. Without a
Keeper the statements run on the node `client` talks to (apply to each node in turn); the bookkeeping table is
then each node's own. A database created single-node is refused by a cluster `apply()` and the other way round:
moving one onto a cluster is a copy (docs/cluster.md), not a migration.

One database has one writer of llm_calls: a SQL-only database derives its calls from its spans, so a llmledger
collector writing it too would count every call twice. `apply(sql_only=True)` refuses a database whose llm_calls
already holds calls, and `refuse_sql_only()` is what the collector calls before writing to one.
"""

from __future__ import annotations

import re

from clickhouse_connect.driver.client import Client

from .backfills import Backfill, printed
from .client import translate_errors
from .cluster_schema import Cluster, ClusterRenderer
from .errors import BadQuery
from .migration_files import RAW_SPANS, SQL_ONLY, Migration, migrations, quote_identifier

__all__ = [
    "MIGRATIONS_TABLE",
    "RAW_SPANS",
    "SQL_ONLY",
    "Migration",
    "applied",
    "apply",
    "migrations",
    "render",
    "run",
]

MIGRATIONS_TABLE = "llmledger_migrations"


def render(
    database: str = "default", *, raw_spans: bool = False, sql_only: bool = False, cluster: Cluster | None = None
) -> str:
    """The whole schema as one SQL script (what `llmledger schema apply --print` shows), for `cluster` if given.

    A backfill's cut-offs are the moment of printing (`backfills.printed`): only `apply()` waits for them."""
    renderer = ClusterRenderer(cluster, database) if cluster else None
    quoted = quote_identifier(database)
    parts = [f"{renderer.create_database(quoted) if renderer else f'CREATE DATABASE IF NOT EXISTS {quoted}'};"]
    for migration in migrations(raw_spans=raw_spans, sql_only=sql_only):
        parts.append(f"\n-- migration {migration.name}")
        parts += [f"{printed(statement)};\n" for statement in _statements(migration, database, renderer)]
    return "\n".join(parts)


def _statements(migration: Migration, database: str, renderer: ClusterRenderer | None) -> list[str]:
    """The statements of `migration`: as written, or rendered for the cluster."""
    statements = migration.statements(database)
    if renderer is None:
        return statements
    return [rendered for statement in statements for rendered in renderer.render(migration.name, statement)]


def apply(
    client: Client,
    database: str = "default",
    *,
    raw_spans: bool = False,
    sql_only: bool = False,
    cluster: Cluster | None = None,
) -> list[str]:
    """Create `database` and apply the migrations it lacks; the names of those applied now (empty: up to date).

    `sql_only`: also derive llm_calls from otel_traces in SQL; BadQuery, before any change, when the database's
    llm_calls already holds calls that were not derived so (a llmledger collector's), which would be counted twice.
    `cluster`: the schema for that cluster (see the module's docstring); BadQuery when the database was created
    for a single node, or, without `cluster`, when it was created for a cluster.
    """
    quoted = quote_identifier(database)
    renderer = ClusterRenderer(cluster, database) if cluster else None
    with translate_errors():
        _refuse_other_layout(client, database, cluster)
        client.command(renderer.create_database(quoted) if renderer else f"CREATE DATABASE IF NOT EXISTS {quoted}")
        client.command(
            f"CREATE TABLE IF NOT EXISTS {quoted}.{MIGRATIONS_TABLE}{cluster.clause if cluster else ''} "
            "(Name String, Checksum String, AppliedAt DateTime64(3) DEFAULT now64(3)) "
            "ENGINE = ReplacingMergeTree(AppliedAt) ORDER BY Name"
        )
        done = applied(client, database)
        if sql_only and not _sql_only_names() & done and _holds_calls(client, database):
            raise BadQuery(
                f"database {database} already holds LLM calls a llmledger collector wrote; deriving them from "
                "otel_traces as well would count each call twice: give the SQL-only deployment a database of its own"
            )
        newly = []
        for migration in migrations(raw_spans=raw_spans, sql_only=sql_only):
            if migration.name in done:
                if renderer is not None:  # its tables are there: later ALTERs and views must know them
                    renderer.learn(migration.statements(database))
                continue
            backfill = Backfill(client, database, cluster)
            for statement in _statements(migration, database, renderer):
                backfill.run(statement, settings=_DDL_SETTINGS if renderer else None)
            client.insert(
                f"{quoted}.{MIGRATIONS_TABLE}",
                [[migration.name, migration.checksum]],
                column_names=["Name", "Checksum"],
            )
            newly.append(migration.name)
    return newly


def run(client: Client, migration: Migration, database: str = "default") -> None:
    """Execute every statement of `migration` on one node, as `apply()` does, whether recorded or not: what a run
    interrupted before recording it does again (the statements are idempotent, a backfill copies once)."""
    with translate_errors():
        backfill = Backfill(client, database)
        for statement in migration.statements(database):
            backfill.run(statement)


# An INSERT … SELECT of a migration reaches every shard before the migration counts as applied.
_DDL_SETTINGS = {"distributed_foreground_insert": 1}


def _refuse_other_layout(client: Client, database: str, cluster: Cluster | None) -> None:
    """BadQuery when `database`'s llm_calls is sharded and `cluster` is None, or is a plain table and it is not."""
    rows = client.query(
        "SELECT engine, engine_full FROM system.tables WHERE database = {db:String} AND name = 'llm_calls'",
        parameters={"db": database},
    ).result_rows
    if not rows:
        return
    engine, full = rows[0]
    if cluster is None and engine == "Distributed":
        name = re.search(r"Distributed\('?([^',]+)", full)
        raise BadQuery(
            f"database {database} is sharded over cluster {name.group(1) if name else '?'}: "
            "apply its schema with --cluster NAME (and give the collector --cluster NAME)"
        )
    if cluster is not None and engine != "Distributed":
        raise BadQuery(
            f"database {database} on this node was created for a single node, not for cluster {cluster.name}: "
            "apply the cluster schema to a new database and copy the calls over (docs/cluster.md)"
        )


def applied(client: Client, database: str = "default") -> set[str]:
    """Names of the migrations recorded as applied in `database` (empty when it has none)."""
    quoted = quote_identifier(database)
    with translate_errors():
        exists = client.command(
            "SELECT count() FROM system.tables WHERE database = {db:String} AND name = {table:String}",
            parameters={"db": database, "table": MIGRATIONS_TABLE},
        )
        if not int(exists):  # type: ignore[arg-type]
            return set()
        return {row[0] for row in client.query(f"SELECT DISTINCT Name FROM {quoted}.{MIGRATIONS_TABLE}").result_rows}


def refuse_sql_only(client: Client, database: str) -> None:
    """BadQuery when `database` derives llm_calls from otel_traces in SQL (`llmledger schema apply --sql-only`):
    a llmledger collector writing it as well would count each call twice."""
    if _sql_only_names() & applied(client, database):
        raise BadQuery(
            f"database {database} derives llm_calls from otel_traces in SQL (llmledger schema apply --sql-only); "
            "a llmledger collector writing it too would count each call twice: give the collector another --database"
        )


def _sql_only_names() -> set[str]:
    return {m.name for m in migrations(sql_only=True) if m.optional == SQL_ONLY}


def _holds_calls(client: Client, database: str) -> bool:
    exists = client.command(
        "SELECT count() FROM system.tables WHERE database = {db:String} AND name = 'llm_calls'",
        parameters={"db": database},
    )
    if not int(exists):  # type: ignore[arg-type]
        return False
    return bool(int(client.command(f"SELECT count() FROM {quote_identifier(database)}.llm_calls")))  # type: ignore[arg-type]
