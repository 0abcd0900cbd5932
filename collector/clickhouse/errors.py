# SPDX-License-Identifier: Apache-2.0
"""The only exceptions the storage layer lets out, so callers never import clickhouse-connect's.

    ClickHouseError                 anything that went wrong talking to ClickHouse
    ├── ConnectionFailed            no usable server: refused, timed out, wrong password, bad URL
    ├── QueryFailed                 the server rejected a statement; `.code` is ClickHouse's error code
    │   └── BadQuery                the statement itself is wrong (syntax, unknown table/column/function,
    │                               bad parameter): the user's input, not the server's state
    └── ServerStartFailed           the embedded server did not come up; the message carries its log

Translation from driver exceptions happens in one place, `client.translate_errors()`.
"""

from __future__ import annotations


class ClickHouseError(Exception):
    """Base of every storage error; the message is meant to be shown to a person as is."""


class ConnectionFailed(ClickHouseError):
    """No usable connection to the server."""


class QueryFailed(ClickHouseError):
    """The server answered with an error."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class BadQuery(QueryFailed):
    """The server rejected the statement because of the statement (not because of its own state)."""


class ServerStartFailed(ClickHouseError):
    """The embedded ClickHouse server could not be started."""
