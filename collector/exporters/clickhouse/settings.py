# SPDX-License-Identifier: Apache-2.0
"""How to reach ClickHouse, decided once for every command: an explicit server URL, or the embedded server.

With no URL, the embedded server of the data directory is used: the running one if its state file says one
is answering (a running `llmledger collector` or `llmledger clickhouse`), otherwise one started just for the
caller and stopped afterwards. Embedded servers are ours, so their schema is brought up to date on connect.

`open_client` gives a clickhouse-connect client, for commands that write or use the driver's types;
`open_query` an `http_query.HttpQuery`, for those that only ask (`llmledger sql`, `llmledger report`). This module
imports neither the driver nor the embedded engine's code until one of them is opened, so finding the settings
costs a command nothing.

Environment (flags win): LLMLEDGER_CLICKHOUSE_URL, LLMLEDGER_CLICKHOUSE_USER, LLMLEDGER_CLICKHOUSE_PASSWORD,
LLMLEDGER_CLICKHOUSE_DATABASE, LLMLEDGER_DATA_DIR; the data directory defaults to
$XDG_DATA_HOME/llmledger (~/.local/share/llmledger).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from llmledger._core import data_dir as _data_dir

from .errors import BadQuery, QueryFailed, ServerStartFailed
from .http_query import HttpQuery

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

ENV_URL = "LLMLEDGER_CLICKHOUSE_URL"
ENV_USER = "LLMLEDGER_CLICKHOUSE_USER"
ENV_PASSWORD = "LLMLEDGER_CLICKHOUSE_PASSWORD"
ENV_DATABASE = "LLMLEDGER_CLICKHOUSE_DATABASE"
ENV_DATA_DIR = _data_dir.DATA_DIR_ENV
DEFAULT_DATABASE = "llmledger"
_RACE_WAIT = 10.0  # seconds to wait for a server another process is starting in the same data directory


def default_data_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """llmledger's data directory: $LLMLEDGER_DATA_DIR, else $XDG_DATA_HOME/llmledger, else ~/.local/share/…
    (the one the price data's refresh writes to as well)."""
    return _data_dir.data_dir(environ)


class ConnectionSettings:
    """Where ClickHouse is; `url=None` means the embedded server of `data_dir` (default: `default_data_dir()`).

    Immutable, compared by value, and its repr leaves the password out. A plain class rather than a dataclass:
    `dataclasses` imports `inspect`, which would be much of what finding the settings costs `llmledger sql`.
    """

    __slots__ = ("data_dir", "database", "password", "url", "user")
    url: str | None
    user: str
    password: str
    database: str
    data_dir: Path

    def __init__(
        self,
        url: str | None = None,
        user: str = "default",
        password: str = "",
        database: str = DEFAULT_DATABASE,
        data_dir: Path | None = None,
    ) -> None:
        values = (url, user, password, database, default_data_dir() if data_dir is None else data_dir)
        for name, value in zip(_FIELDS, values, strict=True):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"ConnectionSettings are immutable: cannot set {name}")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ConnectionSettings) and self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in _FIELDS if name != "password")
        return f"ConnectionSettings({shown})"

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in _FIELDS)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ, **overrides: object) -> ConnectionSettings:
        """Settings from the environment, with non-None `overrides` (e.g. command-line flags) on top."""
        values: dict[str, object] = {
            "url": environ.get(ENV_URL) or None,
            "user": environ.get(ENV_USER) or "default",
            "password": environ.get(ENV_PASSWORD, ""),
            "database": environ.get(ENV_DATABASE) or DEFAULT_DATABASE,
            "data_dir": default_data_dir(environ),
        }
        values.update({key: value for key, value in overrides.items() if value is not None})
        values["data_dir"] = Path(str(values["data_dir"])).expanduser()
        return cls(**values)  # type: ignore[arg-type]

    @property
    def embedded(self) -> bool:
        return self.url is None


_FIELDS = ("url", "user", "password", "database", "data_dir")


@contextlib.contextmanager
def open_client(
    settings: ConnectionSettings,
    *,
    raw_spans: bool = False,
    apply_schema: bool | None = None,
    require_database: bool = True,
) -> Iterator[Client]:
    """A client for `settings`, whose default database is `settings.database`.

    Embedded: connects to the running server of the data directory or starts a temporary one (stopped on exit).
    `apply_schema` (default: only for the embedded server, which is ours; a server given by URL is
    `llmledger schema apply`'s business) applies the migrations first, with the raw-span tables if `raw_spans`.
    A missing database is a BadQuery that says how to create it, unless not `require_database`.
    """
    from . import migrations
    from .client import connect
    from .embedded import running_url

    _quiet_driver()
    migrations.quote_identifier(settings.database)  # reject a bad name before starting anything
    with contextlib.ExitStack() as stack:
        if settings.url is not None:
            client = connect(settings.url, user=settings.user, password=settings.password)
        else:
            url = running_url(settings.data_dir) or _start_or_find(stack, settings.data_dir)
            client = connect(url)
        stack.callback(client.close)
        if settings.embedded if apply_schema is None else apply_schema:
            migrations.apply(client, settings.database, raw_spans=raw_spans)
        if database_exists(client, settings.database):
            client.database = settings.database
        elif require_database:
            raise BadQuery(
                f"database {settings.database} does not exist at {settings.url}; "
                "create the schema with `llmledger schema apply` (or choose another with --database)"
            )
        yield client


@contextlib.contextmanager
def open_query(settings: ConnectionSettings) -> Iterator[HttpQuery]:
    """A light, read-only client (`http_query.HttpQuery`) for `settings`, for commands that only query.

    A server given by URL is queried as is (its schema is `llmledger schema apply`'s business); a missing database
    is a BadQuery saying how to create it when the first query meets it. Embedded: the running server of the data
    directory, whose owner (a collector, `llmledger clickhouse`) applied the schema when it started; one check of
    the migrations it recorded, and only if a newer llmledger brings migrations it lacks are they applied here,
    through clickhouse-connect. With no server running, a temporary one is started (and stopped on exit) and
    brought up to date as `open_client` does.
    """
    if settings.url is not None:
        yield HttpQuery(settings.url, user=settings.user, password=settings.password, database=settings.database)
        return
    from .embedded import running_url

    with contextlib.ExitStack() as stack:
        url = running_url(settings.data_dir) or _start_or_find(stack, settings.data_dir)
        client = HttpQuery(url, database=settings.database)
        if not _schema_current(client):
            _apply_schema(url, settings.database)
        yield client


def _schema_current(client: HttpQuery) -> bool:
    """Whether `client`'s database has every migration an embedded server needs recorded as applied."""
    from .migration_files import migrations

    try:
        applied = set(client.raw("SELECT DISTINCT Name FROM llmledger_migrations").decode().split())
    except QueryFailed:  # no database, no bookkeeping table: nothing applied yet
        return False
    return all(migration.name in applied for migration in migrations())


def _apply_schema(url: str, database: str) -> None:
    from . import migrations
    from .client import connect

    _quiet_driver()
    client = connect(url)
    try:
        migrations.apply(client, database)
    finally:
        client.close()


def _quiet_driver() -> None:
    """clickhouse-connect logs each failed request itself; a command prints the error once, better put, so the
    driver's own record goes nowhere (unless the program configured logging: a NullHandler stops nothing there)."""
    import logging

    logging.getLogger("clickhouse_connect").addHandler(logging.NullHandler())


def _start_or_find(stack: contextlib.ExitStack, data_dir: Path) -> str:
    """Start a temporary server; if another process won the race for the data directory, use its server."""
    from .embedded import EmbeddedClickHouse, running_url

    try:
        return stack.enter_context(EmbeddedClickHouse(data_dir)).url
    except ServerStartFailed as error:
        if "Cannot lock file" not in str(error) and "already running" not in str(error):
            raise
        deadline = time.monotonic() + _RACE_WAIT
        while time.monotonic() < deadline:
            url = running_url(data_dir)
            if url is not None:
                return url
            time.sleep(0.1)
        raise


def database_exists(client: Client, name: str) -> bool:
    from .client import translate_errors

    with translate_errors():
        found = client.command("SELECT count() FROM system.databases WHERE name = {name:String}", {"name": name})
    return bool(int(found))  # type: ignore[arg-type]
