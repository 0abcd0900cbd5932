# SPDX-License-Identifier: Apache-2.0
"""Driver errors reach callers as our own exceptions, with messages fit for a terminal."""

from __future__ import annotations

import pytest

from llmledger.collector.exporters.clickhouse.client import connect, translate_errors
from llmledger.collector.exporters.clickhouse.embedded import free_port
from llmledger.collector.exporters.clickhouse.errors import BadQuery, ConnectionFailed, QueryFailed


def test_a_wrong_statement_is_a_bad_query_with_the_servers_code(clickhouse):
    with pytest.raises(BadQuery, match=r"^ClickHouse error 60: .*no_such_table") as caught, translate_errors():
        clickhouse.client.query("SELECT * FROM no_such_table")
    assert caught.value.code == 60
    assert isinstance(caught.value, QueryFailed)
    assert not caught.value.transient


def test_an_unreachable_server_is_a_connection_failure_naming_it():
    port = free_port()
    with pytest.raises(ConnectionFailed, match=f"cannot reach ClickHouse at http://127.0.0.1:{port}") as caught:
        connect(f"http://127.0.0.1:{port}", connect_timeout=2)
    assert caught.value.transient  # worth retrying later


def test_wrong_credentials_are_a_connection_failure(clickhouse):
    with pytest.raises(ConnectionFailed, match="refused the credentials") as caught:
        connect(clickhouse.url, user="nobody", password="wrong")
    assert not caught.value.transient


def test_a_url_that_is_not_http_is_refused_before_connecting():
    with pytest.raises(ConnectionFailed, match="not of the form http"):
        connect("ftp://example.invalid")


def test_the_url_may_carry_user_and_database_may_be_chosen(clickhouse, database):
    client = connect(clickhouse.url.replace("http://", "http://default@"), database=database)
    assert client.command("SELECT currentDatabase()") == database
    client.close()


def test_server_overload_is_transient_and_a_wrong_statement_is_not():
    assert QueryFailed("ClickHouse error 252: Too many parts", 252).transient
    assert not QueryFailed("ClickHouse error 48: Not implemented", 48).transient
    assert not BadQuery("ClickHouse error 62: Syntax error", 62).transient
