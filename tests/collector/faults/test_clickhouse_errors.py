# SPDX-License-Identifier: Apache-2.0
"""ClickHouse answering inserts with errors of an overloaded server (too many parts, memory limit) or a gateway
in front of it failing (502, 503): the collector retries the same batch until it is stored; nothing is dropped."""

from __future__ import annotations

from .accounting import assert_exactly_once, wait_stored
from .load import send
from .processes import collector
from .proxy import Error, InsertProxy

ERRORS = [
    Error(500, 252, "Too many parts (3000). Merges are processing significantly slower than inserts (TOO_MANY_PARTS)"),
    Error(500, 241, "Memory limit (total) exceeded: would use 7.45 GiB, maximum: 7.20 GiB (MEMORY_LIMIT_EXCEEDED)"),
    Error(502, None, "Bad Gateway"),
    Error(503, None, "Service Unavailable"),
]


def test_inserts_refused_by_an_overloaded_server_or_gateway_are_retried_until_stored(server, database, tmp_path):
    with InsertProxy(server.http_port) as proxy:
        running = collector(server, database, tmp_path / "queue", "--clickhouse-url", proxy.url)
        try:
            proxy.fail(ERRORS)
            acknowledged = send(running, 60)
            assert wait_stored(server, database, acknowledged) == 0
        finally:
            assert running.stop() == 0, running.text
    assert proxy.failed == len(ERRORS)
    assert_exactly_once(server, database, acknowledged)
