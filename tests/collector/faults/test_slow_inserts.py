# SPDX-License-Identifier: Apache-2.0
"""Inserts that succeed but answer after the collector's timeout: the collector retries them with the same
deduplication token and ClickHouse ignores the copies — no dollar counted twice, in llm_calls or any rollup."""

from __future__ import annotations

from .accounting import assert_exactly_once, wait_stored
from .load import LoadGenerator
from .processes import collector
from .proxy import InsertProxy

TIMEOUT = 1.0  # --clickhouse-timeout
SLOW_INSERTS = 3


def test_inserts_retried_after_a_timeout_they_outlived_are_not_counted_twice(server, database, tmp_path):
    with InsertProxy(server.http_port, delay=4 * TIMEOUT) as proxy:
        running = collector(
            server, database, tmp_path / "queue", "--clickhouse-url", proxy.url, "--clickhouse-timeout", str(TIMEOUT)
        )
        try:
            proxy.hold(SLOW_INSERTS)
            with LoadGenerator(running, max_requests=60) as load:
                load.wait_acknowledged(60)
                acknowledged = load.stop().snapshot()
            assert wait_stored(server, database, acknowledged) == 0
        finally:
            assert running.stop() == 0, running.text
    assert proxy.held == [200] * SLOW_INSERTS  # each insert the collector gave up on had in fact succeeded
    assert_exactly_once(server, database, acknowledged)
    retried = {token: count for token, count in proxy.tokens.items() if token and count > 1}
    assert retried, f"no insert was retried with its deduplication token: {proxy.tokens}"
