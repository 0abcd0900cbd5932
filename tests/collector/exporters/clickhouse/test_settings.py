# SPDX-License-Identifier: Apache-2.0
"""Connection settings: flags over environment over defaults; no URL means the embedded server."""

from __future__ import annotations

from pathlib import Path

from llmledger.collector.exporters.clickhouse.settings import ConnectionSettings, default_data_dir, open_client


def test_the_data_directory_follows_the_xdg_convention():
    assert default_data_dir({"XDG_DATA_HOME": "/xdg"}) == Path("/xdg/llmledger")
    assert default_data_dir({}) == Path.home() / ".local" / "share" / "llmledger"
    assert default_data_dir({"LLMLEDGER_DATA_DIR": "/data", "XDG_DATA_HOME": "/xdg"}) == Path("/data")


def test_without_anything_set_it_is_the_embedded_server_and_the_llmledger_database():
    settings = ConnectionSettings.from_env({"XDG_DATA_HOME": "/xdg"})
    assert settings.embedded
    assert (settings.user, settings.password, settings.database) == ("default", "", "llmledger")
    assert settings.data_dir == Path("/xdg/llmledger")


def test_flags_win_over_the_environment():
    environ = {
        "LLMLEDGER_CLICKHOUSE_URL": "http://env:8123",
        "LLMLEDGER_CLICKHOUSE_USER": "env-user",
        "LLMLEDGER_CLICKHOUSE_PASSWORD": "env-secret",
        "LLMLEDGER_CLICKHOUSE_DATABASE": "env_db",
    }
    from_env = ConnectionSettings.from_env(environ)
    flagged = ConnectionSettings.from_env(environ, url="http://flag:8123", database="flag_db", user=None)

    assert (from_env.url, from_env.user, from_env.password, from_env.database) == (
        "http://env:8123",
        "env-user",
        "env-secret",
        "env_db",
    )
    assert (flagged.url, flagged.user, flagged.database) == ("http://flag:8123", "env-user", "flag_db")
    assert "env-secret" not in repr(from_env)


def test_a_client_for_a_url_uses_the_database_once_it_exists(clickhouse, database):
    with open_client(ConnectionSettings(url=clickhouse.url, database=database)) as client:
        assert client.command("SELECT currentDatabase()") == database
