# SPDX-License-Identifier: Apache-2.0
"""`llmledger clickhouse` serves in the foreground, is found by other commands, and stops cleanly on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys


def test_serves_until_sigterm_and_other_commands_find_it(cli, cli_env, tmp_path):
    command = [
        sys.executable,
        "-m",
        "llmledger.collector.cli",
        "clickhouse",
        "--data-dir",
        str(tmp_path),
        "--http-port",
        "0",
        "--tcp-port",
        "0",
    ]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env)
    try:
        assert server.stdout is not None
        first_line = server.stdout.readline()
        assert first_line.startswith("ClickHouse listening on http://127.0.0.1:"), server.stderr.read()
        url = first_line.split()[3]

        # No URL given: `sql` finds the running server through the data directory and uses its schema.
        found = cli(
            "sql",
            "SELECT currentDatabase(), count() FROM llm_calls",
            "--data-dir",
            str(tmp_path),
            "-f",
            "csv",
            connect=False,
        )
        assert found.returncode == 0, found.stderr
        assert found.stdout.splitlines()[1] == '"llmledger",0'
        assert (tmp_path / "clickhouse-server.json").read_text().find(url) >= 0

        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert not (tmp_path / "clickhouse-server.json").exists()
