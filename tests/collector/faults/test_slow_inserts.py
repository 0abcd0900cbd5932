# SPDX-License-Identifier: Apache-2.0
"""Inserts that succeed but answer after the collector's timeout: the collector retries them with the same
deduplication token and ClickHouse ignores the copies — no dollar counted twice, in llm_calls or any rollup."""

from __future__ import annotations

from tests.collector.running import wait_for

from .accounting import assert_exactly_once, wait_stored
from .load import send
from .processes import collector
from .proxy import Error, InsertProxy

TIMEOUT = 1.0  # --clickhouse-timeout
SLOW_INSERTS = 3


def test_inserts_retried_after_a_timeout_they_outlived_are_not_counted_twice(server, database, tmp_path):
    with InsertProxy(server.http_port, delay=4 * TIMEOUT) as proxy:
        running = collector(
            server, database, tmp_path / "queue", "--clickhouse-url", proxy.url, "--clickhouse-timeout", str(TIMEOUT)
        )
        try:
            proxy.hold(SLOW_INSERTS)
            acknowledged = send(running, 60)
            assert wait_stored(server, database, acknowledged) == 0
        finally:
            assert running.stop() == 0, running.text
    assert proxy.held == [200] * SLOW_INSERTS  # each insert the collector gave up on had in fact succeeded
    assert_exactly_once(server, database, acknowledged)
    retried = {token: count for token, count in proxy.tokens.items() if token and count > 1}
    assert retried, f"no insert was retried with its deduplication token: {proxy.tokens}"


def test_an_insert_that_landed_just_before_clickhouse_crashed_is_not_counted_twice(server, database, tmp_path):
    """The insert commits, ClickHouse is SIGKILLed before it answers, and the retry reaches the restarted server:
    only what ClickHouse persisted of its deduplication log stands between the retry and a double count."""
    with InsertProxy(server.http_port, delay=30) as proxy:
        running = collector(
            server, database, tmp_path / "queue", "--clickhouse-url", proxy.url, "--clickhouse-timeout", str(TIMEOUT)
        )
        try:
            proxy.hold(1)
            proxy.fail([Error(503, None, "Service Unavailable")] * 1000)  # no retry reaches ClickHouse before it dies
            acknowledged = send(running, 20)
            assert wait_for(lambda: proxy.held, [200]) == [200]  # the insert landed; its answer is held back
            server.crash()
            server.start()
            at_restart = proxy.tokens.copy()
            proxy.clear()
            assert wait_stored(server, database, acknowledged) == 0
        finally:
            assert running.stop() == 0, running.text
    assert_exactly_once(server, database, acknowledged)
    retried = [token for token in at_restart if token and proxy.tokens[token] > at_restart[token]]
    assert retried, f"no insert from before the crash was retried with its token after it: {proxy.tokens}"
