# SPDX-License-Identifier: Apache-2.0
"""Queries over ClickHouse's HTTP interface with nothing but a socket: for the commands that only ask.

`llmledger sql` and `llmledger report` run one query, or a few, and exit. clickhouse-connect (urllib3, its type
machinery) takes several times longer to import than such a query takes to run, and even `http.client` brings the
`email` package and `ssl` along; ClickHouse's HTTP interface needs none of them. One POST per query: the
statement is the body, each `{name:Type}` is sent as `param_<name>` (its value in ClickHouse's escaped text form,
as clickhouse-connect sends it), settings and the default database are URL parameters, and the server formats
the output in the format asked for. The request is HTTP/1.0, so the answer is not chunked and ends where the
connection does; `wait_end_of_query=1` has the server finish the query before it answers, so an error half-way
through a result is an error status, never a truncated table.

A server error comes back as ClickHouse's own text and becomes the `errors.ClickHouseError` clickhouse-connect's
would (`errors.from_server_message`); a server that cannot be reached is a `ConnectionFailed` naming it. HTTPS
loads `ssl` only when the URL asks for it. The collector and everything that writes keep clickhouse-connect
(`client.py`); nothing here inserts.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, unquote, urlencode, urlsplit

from .errors import (
    UNKNOWN_DATABASE,
    BadQuery,
    ClickHouseError,
    ConnectionFailed,
    QueryFailed,
    first_line,
    from_server_message,
)

# No effect on a single node. On a cluster (docs/cluster.md): a query that filters or joins one Distributed table
# by another (IN, JOIN) reads every shard for the inner one (GLOBAL), which the named queries need, and an insert
# into a Distributed table is on its shards when it is acknowledged, so a shard that is down fails the insert
# and the collector's queue keeps the batch (the engine's own background sending would hold it on one node).
CLUSTER_SETTINGS: dict[str, Any] = {"distributed_product_mode": "global", "distributed_foreground_insert": 1}

_ANSWER_WHOLE = {"wait_end_of_query": 1}
_READONLY = 164
_REFUSED_SETTING = re.compile(r"Cannot modify '(\w+)' setting in readonly mode")
_ESCAPES = str.maketrans({c: "\\" + c for c in ("\\", "'", "`", "\t", "\n")})
# Typed rows: every value as JSON, 64-bit integers and decimals as strings so none passes through a float.
_TYPED = {
    "default_format": "JSONCompactEachRowWithNamesAndTypes",
    "output_format_json_quote_64bit_integers": 1,
    "output_format_json_quote_decimals": 1,
    "output_format_decimal_trailing_zeros": 1,  # a Decimal(38, 12) keeps its scale, as clickhouse-connect's does
}


class HttpQuery:
    """Queries to the ClickHouse server at `url` (`http[s]://[user:password@]host[:port]`), one request each.

    Holds no connection between queries, so one instance serves several threads at once. `database` is the
    default database of unqualified names (None: the server's); `settings` go with every query.
    """

    def __init__(
        self,
        url: str,
        *,
        user: str = "default",
        password: str = "",
        database: str | None = None,
        settings: Mapping[str, Any] | None = None,
        connect_timeout: float = 10,
        timeout: float = 300,
    ) -> None:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConnectionFailed(f"ClickHouse URL {url!r} is not of the form http[s]://host[:port]", transient=False)
        try:
            self.port = parts.port or (8443 if parts.scheme == "https" else 8123)
        except ValueError as error:
            raise ConnectionFailed(f"ClickHouse URL {url!r}: {error}", transient=False) from None
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.user = unquote(parts.username) if parts.username else user
        self.password = unquote(parts.password) if parts.password else password
        if any(c in value for value in (self.user, self.password) for c in "\r\n"):
            raise ConnectionFailed("a ClickHouse user or password cannot hold a line break", transient=False)
        self.database = database
        self.settings = {**CLUSTER_SETTINGS, **(settings or {})}
        self.connect_timeout = connect_timeout
        self.timeout = timeout
        self._refused: set[str] = set()  # settings this user may not change (a read-only profile): not sent again

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def raw(
        self, sql: str, *, parameters: Mapping[str, Any] | None = None, settings: Mapping[str, Any] | None = None
    ) -> bytes:
        """The server's output of `sql`, in the format `settings["default_format"]` names (TabSeparated without).

        QueryFailed (BadQuery for a wrong statement) with the server's message; ConnectionFailed when unreachable.
        """
        return self._query(sql, parameters or {}, settings or {}, database=self.database)

    def rows(self, sql: str, parameters: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """The rows of `sql` as Python values: Decimal for decimals, int, float, str, date, datetime, lists."""
        import json
        from decimal import Decimal

        lines = self.raw(sql, parameters=parameters, settings=_TYPED).splitlines()
        if len(lines) < 2:
            return []
        converters = [converter(type_name) for type_name in json.loads(lines[1])]
        # Numbers as Decimal first: exact whether or not the server quoted them (a read-only user may not ask it to).
        return [
            tuple(
                convert(value) for convert, value in zip(converters, json.loads(line, parse_float=Decimal), strict=True)
            )
            for line in lines[2:]
            if line
        ]

    def database_exists(self, name: str) -> bool:
        sql = "SELECT count() FROM system.databases WHERE name = {name:String}"
        return self._query(sql, {"name": name}, {}, database=None).strip() == b"1"

    def _query(
        self, sql: str, parameters: Mapping[str, Any], settings: Mapping[str, Any], *, database: str | None
    ) -> bytes:
        """The answer to `sql`. A setting the server says this user may not change (a read-only profile) is left
        out and the query asked again, as clickhouse-connect leaves such settings out; `readonly` only when the
        user's profile is read-only itself, so a query that tries to lift it is never let through."""
        query: dict[str, Any] = {**self.settings, **_ANSWER_WHOLE, **settings}
        for name in self._refused:
            query.pop(name, None)
        if database:
            query["database"] = database
        for name, value in parameters.items():
            query[f"param_{name}"] = bind_value(value)
        while True:
            status, headers, body = self._post("/?" + urlencode(query, quote_via=quote), sql.encode())
            if status == 200:
                return body
            error = self._error(status, headers, body)
            refused = _REFUSED_SETTING.search(str(error)) if getattr(error, "code", None) == _READONLY else None
            setting = refused.group(1) if refused else None
            if setting is None or setting not in query or (setting == "readonly" and not self._read_only_user()):
                raise error
            self._refused.add(setting)
            del query[setting]

    def _read_only_user(self) -> bool:
        """Whether this user's own profile is read-only (as a query without our settings sees it)."""
        status, _, body = self._post("/?" + urlencode({}), b"SELECT getSetting('readonly')")
        return status == 200 and body.strip() not in (b"0", b"")

    def _post(self, target: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        head = [
            f"POST {target} HTTP/1.0",
            f"Host: {self.host}:{self.port}",
            f"Content-Length: {len(body)}",
            "Content-Type: text/plain; charset=utf-8",
            "Connection: close",
            f"X-ClickHouse-User: {self.user}",
        ]
        if self.password:
            head.append(f"X-ClickHouse-Key: {self.password}")
        request = ("\r\n".join(head) + "\r\n\r\n").encode() + body
        try:
            address = (_address(self.host), self.port)
            with socket.create_connection(address, timeout=self.connect_timeout) as plain:  # type: ignore[arg-type]
                plain.settimeout(self.timeout)
                if self.scheme == "https":
                    import ssl

                    with ssl.create_default_context().wrap_socket(plain, server_hostname=self.host) as secure:
                        return _exchange(secure, request)
                return _exchange(plain, request)
        except ClickHouseError:
            raise
        except OSError as error:
            reason = error.strerror or str(error) or type(error).__name__
            raise ConnectionFailed(f"cannot reach ClickHouse at {self.url}: {reason}") from None

    def _error(self, status: int, headers: Mapping[str, str], body: bytes) -> ClickHouseError:
        text = body.decode("utf-8", "replace")
        if "x-clickhouse-exception-code" in headers or "Code: " in text:
            error = from_server_message(text)
            missing = getattr(error, "code", None) == UNKNOWN_DATABASE and self.database
            if missing and not self.database_exists(self.database or ""):
                return BadQuery(
                    f"database {self.database} does not exist at {self.url}; "
                    "create the schema with `llmledger schema apply` (or choose another with --database)",
                    UNKNOWN_DATABASE,
                )
            return error
        return QueryFailed(f"ClickHouse at {self.url} answered HTTP {status}: {first_line(text)}")


def bind_value(value: Any) -> str:
    """`value` as the text of a `param_<name>`: ClickHouse's escaped form, which the server parses by the type."""
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return value.translate(_ESCAPES)
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return str(value.isoformat(sep=" ") if hasattr(value, "hour") else value.isoformat())
    return str(value)


def converter(type_name: str) -> Callable[[Any], Any]:
    """How a JSON value of ClickHouse type `type_name` becomes the Python value clickhouse-connect would give."""
    for wrapper in ("LowCardinality(", "SimpleAggregateFunction("):
        if type_name.startswith(wrapper):
            return converter(type_name[len(wrapper) : -1].split(", ")[-1])
    if type_name.startswith("Nullable("):
        inner = converter(type_name[len("Nullable(") : -1])
        return lambda value: None if value is None else inner(value)
    if type_name.startswith("Array("):
        item = converter(type_name[len("Array(") : -1])
        return lambda values: [item(value) for value in values]
    if type_name.startswith("Decimal"):
        from decimal import Decimal

        return Decimal
    if type_name.startswith(("UInt", "Int")):
        return int
    if type_name.startswith("Float"):
        return float
    if type_name == "Bool":
        return bool
    if type_name in ("Date", "Date32"):
        from datetime import date

        return date.fromisoformat
    if type_name.startswith("DateTime"):
        from datetime import datetime

        return datetime.fromisoformat
    return _same


def _address(host: str) -> str | bytes:
    """`host` for the resolver: ASCII names as bytes (which `getaddrinfo` takes, though typeshed says str), which
    spares loading the `idna` codec that a str costs."""
    return host.encode() if host.isascii() else host


def _same(value: Any) -> Any:
    return value


def _exchange(connection: socket.socket, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send `request` and read the whole answer (HTTP/1.0: up to the end of the connection)."""
    connection.sendall(request)
    chunks = []
    while chunk := connection.recv(1 << 16):
        chunks.append(chunk)
    answer = b"".join(chunks)
    head, separator, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parts = status_line.split(" ", 2)
    if not separator or len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise QueryFailed(
            f"not an HTTP answer from ClickHouse: {first_line(status_line) if status_line else 'nothing'}"
        )
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(parts[1]), headers, body
