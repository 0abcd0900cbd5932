# SPDX-License-Identifier: Apache-2.0
"""Re-pricing: totals move by exactly the hand-computed change, every named query with them, an audit row says
why; a second run changes nothing; a run cut short is finished by the next."""

from __future__ import annotations

from decimal import Decimal
from time import time_ns

import pytest

from llmledger._core.usage import Usage
from llmledger.collector.exporters.clickhouse.queries import named_query
from llmledger.collector.exporters.clickhouse.writer import insert_llm_calls
from llmledger.collector.extract.costs import apply_cost
from llmledger.collector.llm_calls import LlmCall
from llmledger.collector.repricing import Repricer, Window
from llmledger.collector.repricing.reprice import JOURNAL, RUNS

from .conftest import ROLLUPS, priced_calls, shapes, totals

_HOUR = 3600 * 10**9
PRICES_A = """
prices:
  - provider: acme
    model: acme-chat
    input: 1.00
    output: 2.00
    cache_read: 0.50
"""
# The price cut the other way: input and output dearer, cache reads cheaper; acme-mini gets a price.
PRICES_B = """
prices:
  - provider: acme
    model: acme-chat
    input: 2.00
    output: 3.00
    cache_read: 0.25
  - provider: acme
    model: acme-mini
    input: 0.10
    output: 0.40
"""


def _calls(now: int) -> list[LlmCall]:
    def call(index: int, model: str, cache_read: int = 200) -> LlmCall:
        return LlmCall(
            timestamp_ns=now - (index + 1) * _HOUR,
            trace_id=f"{index // 2 + 1:032x}",
            span_id=f"{index + 1:016x}",
            tenant="acme",
            service_name="support-bot",
            feature="answer",
            user_id=f"user-{index % 2}",
            session_id="session-1",
            provider="acme",
            operation="chat",
            request_model=model,
            response_model=model,
            duration_ms=100.0 + index,
            input_tokens=1000,
            output_tokens=500,
            cache_read_input_tokens=cache_read,
            attributes={"team": "core"},
        )

    return [call(0, "acme-chat"), call(1, "acme-chat"), call(2, "acme-chat"), call(3, "acme-mini", 0)]


@pytest.fixture
def stored(client, price_file):
    client.command("TRUNCATE TABLE llm_calls")
    for table in (*ROLLUPS, JOURNAL, RUNS):
        client.command(f"TRUNCATE TABLE {table}")
    price_file(PRICES_A)
    now = time_ns()
    calls, used = priced_calls(_calls(now))
    insert_llm_calls(client, calls, prices=used)
    return now


def _window(now: int) -> Window:
    return Window(now - 10 * _HOUR, now)


def test_a_price_change_moves_every_total_by_the_hand_computed_amount_and_leaves_an_audit_row(
    client, stored, price_file
):
    before, shape_before = totals(client), shapes(client)
    # Under A each acme-chat call costs 800 × 1.00 + 200 × 0.50 + 500 × 2.00 per million = $0.0019; acme-mini none.
    assert before["llm_calls FINAL"] == Decimal("0.0057")
    assert before["unpriced calls (hourly)"] == 1

    price_file(PRICES_B)
    outcome = Repricer(client).run(_window(stored), reason="contract prices", price_source="prices B")

    # Under B: 800 × 2.00 + 200 × 0.25 + 500 × 3.00 = $0.00315 a call, +$0.00125 each; acme-mini
    # 1000 × 0.10 + 500 × 0.40 = $0.0003, and no longer unpriced.
    change = 3 * Decimal("0.00125") + Decimal("0.0003")
    after = totals(client)
    for name in before:
        if name.startswith("unpriced"):
            assert after[name] == before[name] - 1, name
        elif name.startswith("cache savings"):
            # Savings = the 200 cached tokens at the input rate minus at the cache rate: (1.00 − 0.50) → (2.00 − 0.25).
            assert after[name] == before[name] + 3 * 200 * (Decimal("1.75") - Decimal("0.50")) / 10**6, name
        elif name == "calls (hourly)":
            assert after[name] == before[name] == 4
        else:
            assert after[name] == before[name] + change, name
    # Calls, tokens, users, latencies, traces and models as before: one version of each call. Only the call that
    # now has a price leaves the list of wasted and unknown spend.
    assert shape_before.pop("wasted_spend") == [("acme", "acme-mini", "1", "0", "0")]
    assert shapes(client) == {**shape_before, "wasted_spend": []}

    assert (outcome.calls, outcome.old_total, outcome.new_total) == (4, Decimal("0.0057"), Decimal("0.0057") + change)
    run = client.query("SELECT * FROM llm_repricing_runs FINAL").named_results()
    (audit,) = list(run)
    assert audit["RunId"] == outcome.run_id
    assert (audit["Status"], audit["Reason"], audit["PriceSource"]) == ("done", "contract prices", "prices B")
    assert (audit["Calls"], audit["OldTotal"], audit["NewTotal"]) == (4, Decimal("0.0057"), Decimal("0.0057") + change)
    query = named_query("repricings")
    (listed,) = client.query(query.sql, parameters=query.bind()).named_results()
    assert (listed["run_id"], listed["reason"], listed["calls"], listed["change_usd"]) == (
        outcome.run_id,
        "contract prices",
        4,
        change,
    )
    rows = client.query(
        "SELECT CostSource, RepricedBy, TotalCost, Version > IngestedAt FROM llm_calls FINAL ORDER BY SpanId"
    ).result_rows
    assert [row[:3] for row in rows] == [
        *[("collector", outcome.run_id, Decimal("0.00315"))] * 3,
        ("collector", outcome.run_id, Decimal("0.0003")),
    ]


def test_running_it_again_changes_nothing(client, stored, price_file):
    price_file(PRICES_B)
    Repricer(client).run(_window(stored), reason="first", price_source="B")
    before, journal = totals(client), client.command(f"SELECT count() FROM {JOURNAL}")
    rows = client.command("SELECT count() FROM llm_calls")

    again = Repricer(client).run(_window(stored), reason="second", price_source="B")

    assert (again.calls, again.examined) == (0, 4)
    assert totals(client) == before
    assert client.command(f"SELECT count() FROM {JOURNAL}") == journal
    assert client.command("SELECT count() FROM llm_calls") == rows


def test_a_dry_run_says_what_would_change_and_writes_nothing(client, stored, price_file):
    before = totals(client)
    price_file(PRICES_B)

    plan = Repricer(client).plan(_window(stored))

    assert {key: (c.calls, c.new_total - c.old_total) for key, c in plan.by_model.items()} == {
        ("acme", "acme-chat"): (3, 3 * 1_250_000_000),  # $0.00125 each, in 10⁻¹² USD
        ("acme", "acme-mini"): (1, 300_000_000),
    }
    assert totals(client) == before
    assert client.command(f"SELECT count() FROM {JOURNAL}") == 0


def test_a_run_cut_short_after_its_journal_is_finished_by_the_next(client, stored, price_file):
    price_file(PRICES_B)
    repricer = Repricer(client)
    window = _window(stored)
    expected_change = 3 * Decimal("0.00125") + Decimal("0.0003")
    before = totals(client)
    # What a kill between the two steps leaves: the journal (and the rollups' changes), no new versions.
    (changes,) = list(repricer._changes(window, repricer.plan(window), version=time_ns() // 1000))
    repricer._journal("cut-short", 0, changes)
    assert client.command("SELECT count() FROM llm_calls FINAL WHERE RepricedBy != ''") == 0

    plan = Repricer(client).plan(window)
    assert (plan.resumed, plan.calls) == (4, 0)  # a dry run says so, and does not count them as changes again

    outcome = Repricer(client).run(window, reason="after a crash", price_source="B")

    assert (outcome.resumed, outcome.calls) == (4, 0)
    after = totals(client)
    assert after["llm_calls FINAL"] == after["llm_usage_hourly"] == before["llm_calls FINAL"] + expected_change
    assert client.command("SELECT count() FROM llm_calls FINAL WHERE RepricedBy = 'cut-short'") == 4


def test_a_cost_the_stored_tokens_cannot_explain_is_kept(client, price_file):
    """llm_calls does not keep one-hour cache writes apart: a call that had some keeps its cost, and is counted."""
    client.command("TRUNCATE TABLE llm_calls")
    one_hour = (
        "prices:\n  - {provider: acme, model: acme-chat, input: 3, output: 15, cache_write: 3.75, cache_write_1h: 6}\n"
    )
    price_file(one_hour)
    now = time_ns()
    calls = _calls(now)[:2]
    for call in calls:
        call.cache_creation_input_tokens, call.cache_read_input_tokens = 500, 0
    # The collector costed the first with 300 of its 500 cache writes written for an hour (a span says so; the row
    # keeps only the 500); the application costed the second itself (no price id of the collector's).
    used: dict = {}
    apply_cost(calls[0], {}, Usage(1000, 500, 0, 500, 300), used)
    calls[1].cost_source, calls[1].total_cost = "instrumentation", Decimal("0.0123")
    insert_llm_calls(client, calls, prices=used.values())
    price_file(one_hour.replace("output: 15", "output: 12"))

    outcome = Repricer(client).plan(_window(now))

    assert (outcome.calls, outcome.unreproducible) == (0, 2)
