# SPDX-License-Identifier: Apache-2.0
"""Connecting to ClickHouse with clickhouse-connect, and the one place its exceptions become ours.

Everything in the storage layer that calls the driver does so inside `translate_errors()`, so callers see only
the hierarchy of `errors.py` and a message fit for a terminal (no driver prefixes, no URLs with query ids).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

from clickhouse_connect.driver.client import Client

from .errors import BadQuery, ClickHouseError, ConnectionFailed, QueryFailed

__all__ = ["Client", "connect", "translate_errors"]

# Server error codes that mean "the statement is wrong", as opposed to "the server is unwell".
_BAD_QUERY_CODES = frozenset(
    {
        6,  # CANNOT_PARSE_TEXT
        16,  # NO_SUCH_COLUMN_IN_TABLE
        26,  # CANNOT_PARSE_QUOTED_STRING
        27,  # CANNOT_PARSE_INPUT_ASSERTION_FAILED
        36,  # BAD_ARGUMENTS
        41,  # CANNOT_PARSE_DATETIME
        42,  # NUMBER_OF_ARGUMENTS_DOESNT_MATCH
        43,  # ILLEGAL_TYPE_OF_ARGUMENT
        46,  # UNKNOWN_FUNCTION
        47,  # UNKNOWN_IDENTIFIER
        53,  # TYPE_MISMATCH
        60,  # UNKNOWN_TABLE
        62,  # SYNTAX_ERROR
        70,  # CANNOT_CONVERT_TYPE
        72,  # CANNOT_PARSE_NUMBER
        73,  # UNKNOWN_FORMAT
        81,  # UNKNOWN_DATABASE
        115,  # UNKNOWN_SETTING
        179,  # MULTIPLE_EXPRESSIONS_FOR_ALIAS
        184,  # ILLEGAL_AGGREGATION
        215,  # NOT_AN_AGGREGATE
        352,  # AMBIGUOUS_COLUMN_NAME
        456,  # UNKNOWN_QUERY_PARAMETER
        457,  # BAD_QUERY_PARAMETER
    }
)
_AUTHENTICATION_FAILED = 516
_CODE = re.compile(r"Code: (\d+)\. (?:DB::Exception: )?(.*)", re.DOTALL)
_REQUEST_URL = re.compile(r"\((https?://[^)\s]+)\)\s*$")
_ERRNO = re.compile(r"\[Errno -?\d+\] ([^\"')]+)")
_URL_SUFFIX = re.compile(r"\s*\(for url [^)]*\)\s*$")


# No effect on a single node. On a cluster (docs/cluster.md): a query that filters or joins one Distributed table
# by another (IN, JOIN) reads every shard for the inner one (GLOBAL), which the named queries need, and an insert
# into a Distributed table is on its shards when it is acknowledged, so a shard that is down fails the insert
# and the collector's queue keeps the batch (the engine's own background sending would hold it on one node).
_CLUSTER_SETTINGS: dict[str, Any] = {"distributed_product_mode": "global", "distributed_foreground_insert": 1}


def connect(
    url: str,
    *,
    user: str = "default",
    password: str = "",
    database: str | None = None,
    connect_timeout: float = 10,
    send_receive_timeout: float = 300,
    settings: dict[str, Any] | None = None,
) -> Client:
    """A clickhouse-connect HTTP client for `url` (`http[s]://host[:port]`, user and password may be in it).

    `database` is the default database of unqualified names; it must exist (None: the server's default).
    """
    import clickhouse_connect

    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConnectionFailed(f"ClickHouse URL {url!r} is not of the form http[s]://host[:port]", transient=False)
    try:
        port = parts.port or (8443 if parts.scheme == "https" else 8123)
    except ValueError as error:
        raise ConnectionFailed(f"ClickHouse URL {url!r}: {error}", transient=False) from None
    with translate_errors():
        return clickhouse_connect.get_client(
            host=parts.hostname,
            port=port,
            interface=parts.scheme,
            username=unquote(parts.username) if parts.username else user,
            password=unquote(parts.password) if parts.password else password,
            database=database,
            connect_timeout=connect_timeout,
            send_receive_timeout=send_receive_timeout,
            settings={**_CLUSTER_SETTINGS, **(settings or {})},
            autogenerate_session_id=False,  # sessions serialise queries; our clients are shared by threads
        )


@contextlib.contextmanager
def translate_errors() -> Iterator[None]:
    """Turn clickhouse-connect exceptions raised inside the block into `errors.ClickHouseError`s."""
    from clickhouse_connect.driver import exceptions as driver

    try:
        yield
    except ClickHouseError:
        raise
    except driver.OperationalError as error:  # network: refused, reset, timed out
        raise ConnectionFailed(_unreachable(str(error))) from error
    except driver.ClickHouseError as error:
        raise _from_server_message(str(error)) from error


def _from_server_message(text: str) -> ClickHouseError:
    found = _CODE.search(text)
    if found is None:
        return QueryFailed(_first_line(text))
    code = int(found.group(1))
    message = _URL_SUFFIX.sub("", found.group(2).strip())
    if code == _AUTHENTICATION_FAILED:
        return ConnectionFailed(f"ClickHouse refused the credentials: {message}", transient=False)
    kind = BadQuery if code in _BAD_QUERY_CODES else QueryFailed
    return kind(f"ClickHouse error {code}: {message}", code)


def _unreachable(text: str) -> str:
    url = _REQUEST_URL.search(text)
    reason = _ERRNO.search(text)
    where = f" at {url.group(1)}" if url else ""
    return f"cannot reach ClickHouse{where}: {reason.group(1).strip() if reason else _first_line(text)}"


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "unknown error"
