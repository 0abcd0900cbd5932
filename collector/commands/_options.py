# SPDX-License-Identifier: Apache-2.0
"""What every ClickHouse-facing command shares: the connection flags, and how errors become exit codes.

`add_connection_options(parser)` adds --clickhouse-url/--clickhouse-user/--clickhouse-password/--database/
--data-dir; `connection_settings(args)` turns them (over the LLMLEDGER_* environment) into `ConnectionSettings`,
which `llmledger.collector.exporters.clickhouse.settings.open_client()` connects with. `require_data(settings)` is what
commands that only use data call first: only the collector (and `llmledger clickhouse`) creates a data directory,
so a mistyped --data-dir is an error naming it, not a new empty database. `reports_errors` wraps a command's
`func`: bad input (a wrong query, a bad flag value) exits 2 and a broken server exits 1, each with one line on
stderr and no traceback.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..exporters.clickhouse.settings import ConnectionSettings

EXIT_FAILURE = 1
EXIT_USAGE = 2
# --format of `sql` and `report` (each lays them out its own way): the names, here so that registering a command
# needs neither's formatting code.
OUTPUT_FORMATS = ("table", "csv", "json", "jsonl", "jsonlines")


class UsageError(ValueError):
    """The user asked for something that cannot be done as asked; the message says what to do instead."""


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("ClickHouse connection (default: the embedded server of the data directory)")
    group.add_argument(
        "--clickhouse-url", metavar="URL", help="http[s]://host:port of a ClickHouse server [$LLMLEDGER_CLICKHOUSE_URL]"
    )
    group.add_argument("--clickhouse-user", metavar="USER", help="[$LLMLEDGER_CLICKHOUSE_USER, default: default]")
    group.add_argument("--clickhouse-password", metavar="PASSWORD", help="[$LLMLEDGER_CLICKHOUSE_PASSWORD]")
    group.add_argument("--database", metavar="NAME", help="[$LLMLEDGER_CLICKHOUSE_DATABASE, default: llmledger]")
    add_data_dir_option(group)


def add_data_dir_option(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="llmledger's data directory [$LLMLEDGER_DATA_DIR, default: $XDG_DATA_HOME/llmledger]",
    )


def connection_settings(args: argparse.Namespace) -> ConnectionSettings:
    """`ConnectionSettings` from the parsed flags over the environment (imported late: `--help` stays fast)."""
    from ..exporters.clickhouse.settings import ConnectionSettings

    return ConnectionSettings.from_env(
        url=getattr(args, "clickhouse_url", None),
        user=getattr(args, "clickhouse_user", None),
        password=getattr(args, "clickhouse_password", None),
        database=getattr(args, "database", None),
        data_dir=getattr(args, "data_dir", None),
    )


def require_data(settings: ConnectionSettings) -> ConnectionSettings:
    """`settings`, once sure that the embedded server's data directory holds ClickHouse data; UsageError naming
    the directory otherwise. A server given by URL is not looked at here."""
    if not settings.embedded:
        return settings
    from ..exporters.clickhouse.embedded import EmbeddedClickHouse

    data_dir = settings.data_dir
    where = "give the collector's --data-dir (it creates the directory on its first start), or --clickhouse-url"
    if not data_dir.is_dir():
        raise UsageError(f"no data directory {data_dir}: it does not exist; {where}")
    if not EmbeddedClickHouse(data_dir).clickhouse_path.is_dir():
        raise UsageError(f"no ClickHouse data in data directory {data_dir}; {where}")
    return settings


def reports_errors(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Run a command; storage errors and UsageError become a message on stderr and an exit code."""

    @functools.wraps(func)
    def run(args: argparse.Namespace) -> int:
        from ..exporters.clickhouse.errors import BadQuery, ClickHouseError

        try:
            return func(args)
        except (UsageError, BadQuery) as error:
            print(f"llmledger {args.command}: {error}", file=sys.stderr)
            return EXIT_USAGE
        except ClickHouseError as error:
            print(f"llmledger {args.command}: {error}", file=sys.stderr)
            return EXIT_FAILURE

    return run
