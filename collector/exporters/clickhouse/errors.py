# SPDX-License-Identifier: Apache-2.0
"""The only exceptions the storage layer lets out, so callers never import clickhouse-connect's.

    ClickHouseError                 anything that went wrong talking to ClickHouse
    ├── ConnectionFailed            no usable server: refused, timed out, wrong password, bad URL
    ├── QueryFailed                 the server rejected a statement; `.code` is ClickHouse's error code
    │   └── BadQuery                the statement itself is wrong (syntax, unknown table/column/function,
    │                               bad parameter): the user's input, not the server's state
    └── ServerStartFailed           the embedded server did not come up; the message carries its log

Translation from driver exceptions happens in one place, `client.translate_errors()`; a server's own error text
(`Code: 62. DB::Exception: …`, as clickhouse-connect passes it on and as the HTTP interface answers it) becomes one
of these in `from_server_message`, so both clients (`client.py`, `http_query.py`) say the same thing.
`.transient` tells a writer whether retrying the same batch later can succeed (server unreachable, overloaded,
too many parts) or not (a wrong statement, refused credentials); retry with the same insert_deduplication_token.
"""

from __future__ import annotations

import re


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
AUTHENTICATION_FAILED = 516
UNKNOWN_DATABASE = 81
_CODE = re.compile(r"Code: (\d+)\. (?:DB::Exception: )?(.*)", re.DOTALL)
_URL_SUFFIX = re.compile(r"\s*\(for url [^)]*\)\s*$")


def from_server_message(text: str) -> ClickHouseError:
    """The error a server's message stands for: `BadQuery` for a wrong statement, `ConnectionFailed` for refused
    credentials, `QueryFailed` for the rest; the message is the server's, without the driver's wrapping."""
    found = _CODE.search(text)
    if found is None:
        return QueryFailed(first_line(text))
    code = int(found.group(1))
    message = _URL_SUFFIX.sub("", found.group(2).strip())
    if code == AUTHENTICATION_FAILED:
        return ConnectionFailed(f"ClickHouse refused the credentials: {message}", transient=False)
    kind = BadQuery if code in _BAD_QUERY_CODES else QueryFailed
    return kind(f"ClickHouse error {code}: {message}", code)


def first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "unknown error"
