# SPDX-License-Identifier: Apache-2.0
"""`llmledger schema apply`: create or upgrade the ClickHouse schema (or print the SQL it would run)."""

from __future__ import annotations

import argparse
from typing import Any

from ._options import UsageError, add_connection_options, connection_settings, reports_errors, require_data


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("schema", help="manage the ClickHouse schema", description=__doc__)
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    apply = actions.add_parser(
        "apply",
        help="apply the migrations a database lacks (idempotent)",
        description="Apply the schema migrations the database lacks; running it again changes nothing.",
    )
    add_connection_options(apply)
    apply.add_argument("--print", action="store_true", help="print the SQL instead of running it")
    apply.add_argument("--raw-spans", action="store_true", help="include the raw span table otel_traces")
    apply.add_argument(
        "--sql-only",
        action="store_true",
        help="derive llm_calls inside ClickHouse from the otel_traces the OpenTelemetry Collector's ClickHouse "
        "exporter or rotel writes (no llmledger collector may write this database), and load the prices it uses",
    )
    apply.add_argument(
        "--cluster",
        metavar="NAME",
        help="the schema for the ClickHouse cluster NAME of <remote_servers>: tables per shard, sharded by trace, "
        "with Distributed tables of the same names in front (docs/cluster.md); ON CLUSTER when the server has a "
        "Keeper, else apply it to every node",
    )
    apply.add_argument(
        "--replicated", action="store_true", help="with --cluster: Replicated tables (needs a ClickHouse Keeper)"
    )
    apply.set_defaults(func=reports_errors(run_apply))


def run_apply(args: argparse.Namespace) -> int:
    from ..exporters.clickhouse import migrations
    from ..exporters.clickhouse.cluster_schema import Cluster, cluster_of, other_nodes
    from ..exporters.clickhouse.settings import open_client

    settings = connection_settings(args)
    if args.replicated and not args.cluster:
        raise UsageError("--replicated needs --cluster NAME")
    if args.print:
        cluster = Cluster(args.cluster, replicated=args.replicated) if args.cluster else None
        print(migrations.render(settings.database, raw_spans=args.raw_spans, sql_only=args.sql_only, cluster=cluster))
        return 0
    others: list[str] = []
    with open_client(require_data(settings), apply_schema=False, require_database=False) as client:
        cluster = cluster_of(client, args.cluster, replicated=args.replicated) if args.cluster else None
        if cluster is not None and not cluster.on_cluster:
            others = other_nodes(client, cluster.name)
        applied = migrations.apply(
            client, settings.database, raw_spans=args.raw_spans, sql_only=args.sql_only, cluster=cluster
        )
        if args.sql_only:  # prices change: loaded at every run, the newest load wins
            from ..exporters.clickhouse import price_rules

            loaded = price_rules.load(client, settings.database)
    where = f"embedded server of {settings.data_dir}" if settings.embedded else settings.url
    if applied:
        print(f"applied to database {settings.database} ({where}): {', '.join(applied)}")
    else:
        print(f"schema of database {settings.database} ({where}) is already up to date")
    if others:
        print(
            f"this server has no Keeper, so the schema went to this node only: apply it to the other nodes of "
            f"cluster {args.cluster} too ({', '.join(others)}), with the same command and their HTTP URLs"
        )
    if args.sql_only:
        print(f"loaded {len(loaded.prices)} prices for {len(loaded.rules)} providers into llm_model_prices")
    return 0
