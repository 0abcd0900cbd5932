# SPDX-License-Identifier: Apache-2.0
"""The only exceptions the storage layer lets out, so callers never import clickhouse-connect's.

    ClickHouseError                 anything that went wrong talking to ClickHouse
    ├── ConnectionFailed            no usable server: refused, timed out, wrong password, bad URL
    ├── QueryFailed                 the server rejected a statement; `.code` is ClickHouse's error code
    │   └── BadQuery                the statement itself is wrong (syntax, unknown table/column/function,
    │                               bad parameter): the user's input, not the server's state
    └── ServerStartFailed           the embedded server did not come up; the message carries its log

Translation from driver exceptions happens in one place, `client.translate_errors()`. `.transient` tells a
writer whether retrying the same batch later can succeed (server unreachable, overloaded, too many parts) or
not (a wrong statement, refused credentials); retry with the same insert_deduplication_token.
"""

from __future__ import annotations


class ClickHouseError(Exception):
    """Base of every storage error; the message is meant to be shown to a person as is."""

    transient = False


class ConnectionFailed(ClickHouseError):
    """No usable connection to the server."""

    def __init__(self, message: str, *, transient: bool = True) -> None:
        super().__init__(message)
        self.transient = transient


class QueryFailed(ClickHouseError):
    """The server answered with an error."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.transient = code in _TRANSIENT_CODES


class BadQuery(QueryFailed):
    """The server rejected the statement because of the statement (not because of its own state)."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message, code)
        self.transient = False


class ServerStartFailed(ClickHouseError):
    """The embedded ClickHouse server could not be started."""


# Server states that pass: overload, timeouts, memory, part pressure, replicas or Keeper briefly away.
_TRANSIENT_CODES = frozenset(
    {
        159,  # TIMEOUT_EXCEEDED
        164,  # READONLY (replica lost Keeper session)
        202,  # TOO_MANY_SIMULTANEOUS_QUERIES
        203,  # NO_FREE_CONNECTION
        209,  # SOCKET_TIMEOUT
        210,  # NETWORK_ERROR
        236,  # ABORTED
        241,  # MEMORY_LIMIT_EXCEEDED
        242,  # TABLE_IS_READ_ONLY
        252,  # TOO_MANY_PARTS
        285,  # TOO_FEW_LIVE_REPLICAS
        319,  # UNKNOWN_STATUS_OF_INSERT
        425,  # SYSTEM_ERROR
        999,  # KEEPER_EXCEPTION
    }
)
