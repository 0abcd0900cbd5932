# SPDX-License-Identifier: Apache-2.0
"""Price changes: a change of the price of a model called in the last 30 days is recorded, logged and alerted
through the webhook once, across restarts too; a new version of the same rates, or a model not called lately,
is no change."""

from __future__ import annotations

import logging
from decimal import Decimal
from time import time_ns

import pytest

from llmledger.collector.budgets import Webhook
from llmledger.collector.exporters.clickhouse.queries import named_query
from llmledger.collector.exporters.clickhouse.writer import insert_llm_calls
from llmledger.collector.llm_calls import LlmCall
from llmledger.collector.repricing.price_changes import CHANGES_TABLE, WATCH_TABLE, PriceWatch, find_changes

from .conftest import priced_calls

_DAY = 86400 * 10**9
PRICES = """
prices:
  - {provider: acme, model: acme-chat, input: 1.00, output: 2.00}
  - {provider: acme, model: acme-old, input: 1.00, output: 2.00}
"""


def _call(index: int, at: int, model: str) -> LlmCall:
    return LlmCall(
        timestamp_ns=at,
        trace_id=f"{index + 1:032x}",
        span_id=f"{index + 1:016x}",
        provider="acme",
        operation="chat",
        request_model=model,
        response_model=model,
        input_tokens=1000,
        output_tokens=100,
    )


@pytest.fixture
def called(client, price_file):
    for table in ("llm_calls", "llm_model_prices", CHANGES_TABLE, WATCH_TABLE):
        client.command(f"TRUNCATE TABLE {table}")
    price_file(PRICES)
    now = time_ns()
    calls, used = priced_calls(
        [
            _call(0, now - _DAY, "acme-chat"),
            _call(1, now - 2 * _DAY, "acme-chat"),
            _call(2, now - 40 * _DAY, "acme-old"),
        ]
    )
    insert_llm_calls(client, calls, prices=used)
    return now


def test_a_price_change_of_a_model_in_use_is_alerted_once(client, called, price_file, webhook, caplog):
    watch = PriceWatch(client, channel=Webhook(webhook.url, attempts=1))
    assert watch.check() == []

    price_file(PRICES.replace("input: 1.00, output: 2.00}", "input: 0.80, output: 2.00}"))
    with caplog.at_level(logging.WARNING, logger="llmledger.collector.repricing.price_changes"):
        (change,) = watch.check()

    assert (change.provider, change.model, change.calls) == ("acme", "acme-chat", 2)  # acme-old: 40 days ago
    assert "price of acme acme-chat changed (input 1 → 0.8 USD per million tokens" in caplog.text
    (body,) = webhook.wait_for(1)
    assert body["kind"] == "price_change"
    assert (body["model"], body["old"]["input"], body["new"]["input"], body["calls_last_30_days"]) == (
        "acme-chat",
        "1",
        "0.8",
        2,
    )
    # The new price is kept beside the old one, and the change is recorded.
    assert client.command(f"SELECT count() FROM llm_model_prices FINAL WHERE PriceId = '{change.new.id}'") == 1
    assert client.query(f"SELECT Model, NewInputPerMTok FROM {CHANGES_TABLE}").result_rows == [
        ("acme-chat", Decimal("0.8"))
    ]

    query = named_query("price_changes")
    listed = client.query(query.sql, parameters=query.bind()).named_results()
    assert [
        (r["model"], r["old_input_per_mtok"], r["new_input_per_mtok"], r["calls_last_30_days"]) for r in listed
    ] == [("acme-chat", Decimal(1), Decimal("0.8"), 2)]

    assert watch.check() == []  # the same change again: not announced again
    assert PriceWatch(client, channel=Webhook(webhook.url, attempts=1)).check() == []  # nor after a restart
    assert webhook.attempts == 1


def test_the_same_rates_under_a_new_version_are_no_change(client, called, price_file):
    price_file(PRICES + "# the same prices, the file rewritten\n")

    assert find_changes(client) == []


def test_the_collectors_watch_notices_a_change_of_the_price_file_by_itself(client, called, price_file, webhook):
    watch = PriceWatch(client, channel=Webhook(webhook.url, attempts=1), interval=0.05).start()
    try:
        price_file(PRICES.replace("output: 2.00}", "output: 2.50}"))
        bodies = webhook.wait_for(1)
    finally:
        watch.stop()
    assert [(body["model"], body["new"]["output"]) for body in bodies] == [("acme-chat", "2.5")]


def test_a_model_the_application_costed_is_compared_with_the_price_the_collector_saw_before(client, called, price_file):
    # The application's own costs: no price id of the collector's to compare with.
    own = _call(3, called - _DAY, "acme-app")
    own.cost_source, own.total_cost = "instrumentation", Decimal("0.0012")
    insert_llm_calls(client, [own])
    price_file(PRICES + "  - {provider: acme, model: acme-app, input: 1.00, output: 2.00}\n")
    watch = PriceWatch(client)
    assert watch.check() == []  # first look: remembered, nothing to compare with

    price_file(PRICES + "  - {provider: acme, model: acme-app, input: 1.00, output: 1.50}\n")
    (change,) = watch.check()

    assert (change.model, change.old.output, change.new.output) == ("acme-app", Decimal("2.00"), Decimal("1.50"))
    assert watch.check() == []
