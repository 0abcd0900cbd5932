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

from .errors import ClickHouseError, ConnectionFailed, first_line, from_server_message
from .http_query import CLUSTER_SETTINGS

__all__ = ["Client", "connect", "translate_errors"]

_REQUEST_URL = re.compile(r"\((https?://[^)\s]+)\)\s*$")
_ERRNO = re.compile(r"\[Errno -?\d+\] ([^\"')]+)")


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
            settings={**CLUSTER_SETTINGS, **(settings or {})},
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
        raise from_server_message(str(error)) from error


def _unreachable(text: str) -> str:
    url = _REQUEST_URL.search(text)
    reason = _ERRNO.search(text)
    where = f" at {url.group(1)}" if url else ""
    return f"cannot reach ClickHouse{where}: {reason.group(1).strip() if reason else first_line(text)}"
