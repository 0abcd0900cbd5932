# SPDX-License-Identifier: Apache-2.0
"""The embedded server: serves on loopback, announces itself in the data directory, refuses to run twice."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request

import pytest

from llmledger.collector.exporters.clickhouse.embedded import STATE_FILE, EmbeddedClickHouse, running_url
from llmledger.collector.exporters.clickhouse.errors import ServerStartFailed


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
    from llmledger.collector.exporters.clickhouse.client import connect

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


def test_the_server_dies_with_the_process_that_started_it(tmp_path):
    launcher = (
        "import sys; from llmledger.collector.exporters.clickhouse.embedded import EmbeddedClickHouse; "
        f"server = EmbeddedClickHouse({str(tmp_path)!r}).start(); print(server.pid, flush=True); "
        "import time; time.sleep(600)"
    )
    parent = subprocess.Popen([sys.executable, "-c", launcher], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        parent.kill()  # no chance to clean up
        parent.wait()
        deadline = time.monotonic() + 20
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(child)
    finally:
        if parent.poll() is None:
            parent.kill()
    assert running_url(tmp_path) is None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A dead child of a dead parent may linger as a zombie until init reaps it.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False
