# SPDX-License-Identifier: Apache-2.0
"""The light HTTP client gives the values, the errors and the bound parameters clickhouse-connect gives."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from llmledger.collector.exporters.clickhouse.embedded import EmbeddedClickHouse
from llmledger.collector.exporters.clickhouse.errors import BadQuery, ConnectionFailed, QueryFailed
from llmledger.collector.exporters.clickhouse.http_query import HttpQuery

TRICKY = "it's a \\ back`slash\tand a\nnew line, ünïcödé"


@pytest.fixture(scope="module")
def query(clickhouse, database) -> HttpQuery:
    return HttpQuery(clickhouse.url, database=database)


def test_rows_are_python_values_of_their_types_with_decimals_exact(query, clickhouse):
    sql = (
        "SELECT toDecimal128('12345678901234567890.000000000001', 12) AS d, toUInt64(18446744073709551615) AS u, "
        "toInt8(-3) AS i, 0.5 AS f, toDate('2026-01-02') AS day, ['a', 'b'] AS names, "
        "CAST(NULL, 'Nullable(String)') AS missing, toLowCardinality('x') AS low, true AS yes"
    )

    (row,) = query.rows(sql)

    assert row == (
        Decimal("12345678901234567890.000000000001"),
        2**64 - 1,
        -3,
        0.5,
        date(2026, 1, 2),
        ["a", "b"],
        None,
        "x",
        True,
    )
    assert row == tuple(clickhouse.client.query(sql).result_rows[0])


def test_a_decimal_keeps_its_scale_as_the_driver_gives_it(query, clickhouse):
    sql = "SELECT sum(toDecimal64('0.25', 12)) AS spend"

    (row,) = query.rows(sql)

    assert str(row[0]) == str(clickhouse.client.query(sql).result_rows[0][0]) == "0.250000000000"


def test_no_rows_is_an_empty_list(query):
    assert query.rows("SELECT 1 WHERE 0") == []


def test_a_string_parameter_reaches_the_server_unchanged(query):
    assert query.rows("SELECT {text:String}", {"text": TRICKY}) == [(TRICKY,)]


def test_numbers_and_null_are_bound_by_their_type(query):
    row = query.rows(
        "SELECT {n:UInt32} + 1, {x:Float64} * 2, isNull({nothing:Nullable(String)})",
        {"n": 41, "x": 1.25, "nothing": None},
    )

    assert row == [(42, 2.5, 1)]


def test_raw_output_is_in_the_format_asked_for_with_the_settings_given(query):
    output = query.raw("SELECT 1 AS one, 'a' AS letter", settings={"default_format": "CSVWithNames"})

    assert output == b'"one","letter"\n1,"a"\n'


def test_the_default_database_is_the_one_given(query, database):
    assert query.raw("SELECT currentDatabase()").decode().strip() == database


def test_a_wrong_statement_is_a_bad_query_with_the_servers_code_and_message(query):
    with pytest.raises(BadQuery) as caught:
        query.raw("SELEC 1")

    assert caught.value.code == 62
    assert str(caught.value).startswith("ClickHouse error 62: Syntax error")


def test_an_error_half_way_through_a_result_is_an_error_not_a_short_result(query):
    with pytest.raises(QueryFailed, match="ClickHouse error 395"):
        query.raw(
            "SELECT number, throwIf(number = 300000, 'broke half-way') FROM numbers(1000000)",
            settings={"max_block_size": 1000},
        )


def test_a_missing_database_says_how_to_create_it(clickhouse):
    with pytest.raises(BadQuery, match=r"database nowhere does not exist at .*llmledger schema apply"):
        HttpQuery(clickhouse.url, database="nowhere").raw("SELECT 1")


def test_refused_credentials_are_a_connection_failure_that_will_not_pass(clickhouse):
    with pytest.raises(ConnectionFailed, match="refused the credentials") as caught:
        HttpQuery(clickhouse.url, user="nobody", password="wrong").raw("SELECT 1")

    assert not caught.value.transient


def test_an_unreachable_server_is_a_connection_failure_naming_it():
    with pytest.raises(ConnectionFailed, match=r"cannot reach ClickHouse at http://127\.0\.0\.1:9: "):
        HttpQuery("http://127.0.0.1:9").raw("SELECT 1")


@pytest.mark.parametrize("url", ["ftp://host", "http://", "http://host:notaport"])
def test_a_malformed_url_is_refused_before_any_request(url):
    with pytest.raises(ConnectionFailed, match="ClickHouse URL"):
        HttpQuery(url)


def test_user_and_password_may_come_in_the_url(clickhouse):
    host = clickhouse.url.removeprefix("http://")

    assert HttpQuery(f"http://default:@{host}").raw("SELECT currentUser()").strip() == b"default"


# A user whose profile is read-only (readonly = 1): the server refuses every setting a query sends it.
_USERS = """<clickhouse>
  <profiles><default/><read_only><readonly>1</readonly></read_only></profiles>
  <users>
    <default><password></password><profile>default</profile><networks><ip>::/0</ip></networks></default>
    <reader><password>secret</password><profile>read_only</profile><networks><ip>::/0</ip></networks></reader>
  </users>
  <quotas><default/></quotas>
</clickhouse>
"""


@pytest.fixture(scope="module")
def read_only_server(tmp_path_factory):
    directory = tmp_path_factory.mktemp("read-only-user")
    users = directory / "users.xml"
    users.write_text(_USERS, encoding="utf-8")
    extra = f"  <user_directories><users_xml><path>{users}</path></users_xml></user_directories>\n"
    with EmbeddedClickHouse(directory / "data", config_extra=extra) as server:
        yield server


def test_a_read_only_user_is_answered_without_the_settings_it_may_not_change(read_only_server):
    reader = HttpQuery(read_only_server.url, user="reader", password="secret")

    assert reader.rows("SELECT toDecimal128('12345678901234567890.000000000001', 12), toUInt64(2) + 40") == [
        (Decimal("12345678901234567890.000000000001"), 42)
    ]
    assert reader.raw("SELECT 1 AS one", settings={"readonly": 2, "default_format": "CSVWithNames"}) == b'"one"\n1\n'
    with pytest.raises(QueryFailed, match="readonly"):
        reader.raw("CREATE TABLE t (x UInt8) ENGINE = Memory", settings={"readonly": 2})


def test_a_query_that_lifts_read_only_itself_is_refused_not_retried_without_it(query, database):
    with pytest.raises(QueryFailed, match="Cannot modify 'readonly'"):
        query.raw("CREATE TABLE sneaky (x UInt8) ENGINE = Memory SETTINGS readonly = 0", settings={"readonly": 2})
    with pytest.raises(QueryFailed, match="Cannot modify 'readonly'"):
        query.raw("SELECT 1 SETTINGS readonly = 0", settings={"readonly": 2})

    assert query.raw("EXISTS TABLE sneaky").strip() == b"0"
