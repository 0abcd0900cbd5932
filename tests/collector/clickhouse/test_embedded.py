# SPDX-License-Identifier: Apache-2.0
"""The embedded server: serves on loopback, announces itself in the data directory, refuses to run twice."""

from __future__ import annotations

import json
import re
import urllib.request

import pytest
from llmledger.collector.clickhouse.embedded import STATE_FILE, EmbeddedClickHouse, running_url
from llmledger.collector.clickhouse.errors import ServerStartFailed


def test_the_server_answers_sql_over_http_on_loopback(clickhouse):
    assert clickhouse.url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(f"{clickhouse.url}/?query=SELECT%20version()", timeout=5) as response:
        assert response.read().decode().startswith("26.")


def test_a_running_server_is_found_through_its_data_directory(clickhouse):
    state = json.loads((clickhouse.data_dir / STATE_FILE).read_text())
    assert state["url"] == clickhouse.url
    assert running_url(clickhouse.data_dir) == clickhouse.url


def test_a_second_server_for_the_same_data_directory_is_refused(clickhouse):
    with pytest.raises(ServerStartFailed, match=re.escape(f"already running at {clickhouse.url}")):
        EmbeddedClickHouse(clickhouse.data_dir).start()


def test_a_taken_port_fails_with_the_servers_own_explanation(clickhouse, tmp_path):
    with pytest.raises(ServerStartFailed, match=r"(?s)exited during start-up.*Address already in use"):
        EmbeddedClickHouse(tmp_path, http_port=clickhouse.http_port, start_timeout=30).start()
    assert running_url(tmp_path) is None


def test_data_survives_a_stop_and_the_state_file_goes_with_the_server(tmp_path):
    from llmledger.collector.clickhouse.client import connect

    with EmbeddedClickHouse(tmp_path) as server:
        client = connect(server.url)
        client.command("CREATE TABLE kept (x UInt8) ENGINE = MergeTree ORDER BY x")
        client.insert("kept", [[7]])
        client.close()
    assert not (tmp_path / STATE_FILE).exists()
    assert running_url(tmp_path) is None

    with EmbeddedClickHouse(tmp_path) as server:
        client = connect(server.url)
        assert client.command("SELECT x FROM kept") == 7
        client.close()
