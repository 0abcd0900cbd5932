# SPDX-License-Identifier: Apache-2.0
"""An exporter re-sends a request whose response it never got (the collector was killed after the request was
on disk, or the connection dropped): the spans are stored once and the rollups count them once."""

from __future__ import annotations

import http.client

from .accounting import assert_exactly_once, wait_stored
from .load import llm_request
from .processes import collector, kill


def _post(port: int, body: bytes) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("POST", "/v1/traces", body, {"Content-Type": "application/x-protobuf"})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def test_a_request_sent_twice_to_the_same_collector_is_counted_once(server, database, tmp_path):
    request, costs = llm_request(0, 20)
    running = collector(server, database, tmp_path / "queue")
    try:
        assert [_post(running.http_port, request.SerializeToString()) for _ in range(2)] == [200, 200]
        assert wait_stored(server, database, costs) == 0
    finally:
        assert running.stop() == 0, running.text
    assert_exactly_once(server, database, costs)


def test_a_request_re_sent_after_a_kill_9_and_restart_is_counted_once(server, database, tmp_path):
    queue = tmp_path / "queue"
    request, costs = llm_request(0, 20)
    first = collector(server, database, queue)
    assert _post(first.http_port, request.SerializeToString()) == 200  # durable; say the 200 was lost
    kill(first)
    second = collector(server, database, queue)
    try:
        assert _post(second.http_port, request.SerializeToString()) == 200  # the exporter's retry
        assert wait_stored(server, database, costs) == 0
    finally:
        assert second.stop() == 0, second.text
    assert_exactly_once(server, database, costs)
