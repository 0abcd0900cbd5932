# SPDX-License-Identifier: Apache-2.0
"""Budgets enforced in-process, through the real OpenAI SDK and the loopback replay server.

Every recorded call costs $0.212 at the test prices and reserves $0.252 (see support.py).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import socket
import threading
import warnings
from datetime import timedelta
from decimal import Decimal

import openai
import pytest

from llmledger import Budget, BudgetExceeded, BudgetFileUnusable, BudgetWarning, Scope, Window, attributes, budgets
from llmledger.instrumentation.openai import OpenAIInstrumentor
from tests.instrumentation import zero_code
from tests.instrumentation.budgets.support import CALL_COST, CALL_RESERVES, NOT_FOUND, QUESTION, STREAM_RESERVES, Clock
from tests.instrumentation.conftest import STREAM
from tests.instrumentation.openai import transport
from tests.instrumentation.openai.transport import CHAT, recorded_body, zero_code_client

pytestmark = pytest.mark.usefixtures("expensive")


def daily(limit: str, action: str = "raise", scope: Scope | None = None, **kwargs) -> Budget:
    return Budget("daily", scope or Scope(), Window("day"), Decimal(limit), action=action, **kwargs)  # type: ignore[arg-type]


def ask(client: openai.OpenAI) -> None:
    client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION, max_tokens=5)


def only_pool() -> budgets.PoolStatus:
    (pool,) = budgets.status()
    return pool


def test_a_call_that_could_go_over_is_refused_before_any_request_is_sent(replay, replay_client, span_exporter):
    budgets.configure([daily("0.5")], now=Clock())
    ask(replay_client)
    ask(replay_client)
    with pytest.raises(BudgetExceeded) as refused:
        ask(replay_client)

    assert replay.requests == 2
    assert str(refused.value) == (
        "budget 'daily' [scope *; day 2026-03-28T00:00+00:00 .. 2026-03-29T00:00+00:00]: "
        "spent $0.424 + reserved $0 + this call up to $0.252 > limit $0.5"
    )
    assert (refused.value.spent, refused.value.reserved, refused.value.limit) == (2 * CALL_COST, 0, Decimal("0.5"))
    assert not isinstance(refused.value, openai.OpenAIError)
    refused_span = span_exporter.get_finished_spans()[-1]
    assert refused_span.attributes["error.type"] == "BudgetExceeded"
    assert only_pool().spent_usd == 2 * CALL_COST and only_pool().reserved_usd == 0


def test_fifty_threads_and_fifty_tasks_never_spend_past_the_limit(
    replay, replay_client, replay_async_client, span_exporter
):
    budgets.configure([daily("1")])
    allowed: list[str] = []
    refused: list[str] = []
    start = threading.Barrier(51)

    def spend_until_refused(who: str, call) -> None:
        while True:
            try:
                call()
            except BudgetExceeded:
                refused.append(who)
                return
            allowed.append(who)

    def thread_racer(index: int) -> None:
        start.wait(timeout=30)
        spend_until_refused(f"thread {index}", lambda: ask(replay_client))

    async def task_racer(index: int) -> None:
        while True:
            try:
                await replay_async_client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION, max_tokens=5)
            except BudgetExceeded:
                refused.append(f"task {index}")
                return
            allowed.append(f"task {index}")

    async def all_tasks() -> None:
        await asyncio.gather(*(task_racer(i) for i in range(50)))

    threads = [threading.Thread(target=thread_racer, args=(i,)) for i in range(50)]
    for thread in threads:
        thread.start()
    start.wait(timeout=30)
    asyncio.run(asyncio.wait_for(all_tasks(), timeout=120))
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)

    costs = [
        Decimal(str(s.attributes["gen_ai.usage.cost"]))
        for s in span_exporter.get_finished_spans()
        if "gen_ai.usage.cost" in s.attributes
    ]
    assert len(refused) == 100
    assert replay.requests == len(allowed) == len(costs) >= 3  # no request left the process for a refused call
    assert sum(costs) <= Decimal(1) + CALL_COST
    pool = only_pool()
    assert pool.spent_usd == sum(costs) and pool.reserved_usd == 0


@pytest.mark.parametrize("replay", [(NOT_FOUND,)], indirect=True)
def test_an_sdk_error_releases_the_reservation_and_reaches_the_app_unchanged(replay_client):
    budgets.configure([daily("0.5")])
    with pytest.raises(openai.NotFoundError):
        ask(replay_client)
    assert (only_pool().spent_usd, only_pool().reserved_usd) == (0, 0)


def test_a_finished_stream_settles_and_an_abandoned_one_is_charged_its_reservation(replay_client):
    budgets.configure([daily("1")])
    stream = replay_client.chat.completions.create(model="gpt-4", messages=QUESTION, max_tokens=5, stream=True)
    assert only_pool().reserved_usd == STREAM_RESERVES
    for _ in stream:
        pass
    assert (only_pool().spent_usd, only_pool().reserved_usd) == (CALL_COST, 0)

    # Answered, then dropped unread: the provider billed what it generated, which only the provider knows.
    abandoned = replay_client.chat.completions.create(model="gpt-4", messages=QUESTION, max_tokens=5, stream=True)
    del abandoned
    gc.collect()
    assert (only_pool().spent_usd, only_pool().reserved_usd) == (CALL_COST + STREAM_RESERVES, 0)


def test_a_stream_broken_before_its_usage_is_charged_its_reservation_and_the_error_reaches_the_app(replay_openai):
    budgets.configure([daily("1")])
    client = transport.client(lambda request: transport.failing_stream(recorded_body(STREAM, 0), 2))
    stream = client.chat.completions.create(model="gpt-4", messages=QUESTION, max_tokens=5, stream=True)
    with pytest.raises(openai.APIConnectionError):  # the SDK's own error, as without llmledger
        for _ in stream:
            pass
    assert (only_pool().spent_usd, only_pool().reserved_usd) == (STREAM_RESERVES, 0)


def test_a_stream_that_carries_no_usage_is_charged_its_reservation(replay_openai):
    budgets.configure([daily("1")])
    events = recorded_body(STREAM, 0).split(b"\n\n")
    without_usage = b"\n\n".join(event for event in events if b'"usage":{' not in event)
    assert len(without_usage) < len(b"\n\n".join(events))  # the recording's usage chunk is gone
    client = transport.client(lambda request: transport.sse(without_usage))
    stream = client.chat.completions.create(
        model="gpt-4", messages=QUESTION, max_tokens=5, stream=True, stream_options={"include_usage": False}
    )
    reserved = only_pool().reserved_usd
    assert reserved > CALL_RESERVES  # the caller's own stream_options are sized as sent
    assert [chunk.usage for chunk in stream][-1] is None
    assert (only_pool().spent_usd, only_pool().reserved_usd) == (reserved, 0)


def test_a_cancelled_call_releases_its_reservation(monkeypatch, tracer_provider, meter_provider):
    budgets.configure([daily("1")])
    silent = socket.create_server(("127.0.0.1", 0))  # accepts connections, never answers
    host, port = silent.getsockname()[:2]
    monkeypatch.setenv("LLMLEDGER_PROVIDER_HOSTS", f"{host}:{port}=openai")
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    client = openai.AsyncOpenAI(api_key="test", base_url=f"http://{host}:{port}/v1", max_retries=0)

    async def run() -> None:
        call = asyncio.ensure_future(
            client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION, max_tokens=5)
        )
        for _ in range(500):
            if budgets.status() and only_pool().reserved_usd > 0:
                break
            await asyncio.sleep(0.01)
        assert only_pool().reserved_usd > 0
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        await client.close()

    try:
        asyncio.run(run())
    finally:
        instrumentor.uninstrument()
        silent.close()
    assert (only_pool().spent_usd, only_pool().reserved_usd) == (0, 0)


def test_warn_lets_the_call_through_with_a_warning_once_per_window(replay, replay_client, span_exporter, caplog):
    budgets.configure([daily("0.3", action="warn")])
    ask(replay_client)
    with pytest.warns(BudgetWarning, match="budget 'daily'") as warned:
        ask(replay_client)
    assert warned[0].filename == __file__  # points at the app's line that made the call
    ask(replay_client)
    assert replay.requests == 3
    assert [r.levelno for r in caplog.records if "over budget" in r.getMessage()] == [logging.WARNING]
    assert span_exporter.get_finished_spans()[-1].attributes["llmledger.budget.exceeded"] == ("daily",)


def test_a_budget_warning_the_app_makes_an_error_refuses_the_call_and_holds_nothing(
    replay, replay_client, span_exporter
):
    budgets.configure([daily("0.3", action="warn")])
    ask(replay_client)
    with warnings.catch_warnings():
        warnings.simplefilter("error", BudgetWarning)
        with pytest.raises(BudgetWarning, match="budget 'daily'"):
            ask(replay_client)

    assert replay.requests == 1  # the second call was not sent
    assert span_exporter.get_finished_spans()[-1].attributes["error.type"] == "BudgetWarning"
    assert (only_pool().spent_usd, only_pool().reserved_usd) == (CALL_COST, 0)


def test_log_lets_the_call_through_and_logs(replay, replay_client, caplog):
    caplog.set_level(logging.INFO, "llmledger.budgets")
    budgets.configure([daily("0.3", action="log")])
    ask(replay_client)
    ask(replay_client)
    assert replay.requests == 2
    assert any("over budget: budget 'daily'" in r.getMessage() for r in caplog.records)


def test_only_matching_scopes_count_and_per_splits_the_pool(replay_client):
    budgets.configure([daily("0.3", scope=Scope(feature="search"), per=("user",))])
    ask(replay_client)  # feature "" is out of scope
    with attributes(feature="search", user_id="ann"):
        ask(replay_client)
        with pytest.raises(BudgetExceeded, match=r"per user=ann"):
            ask(replay_client)
    with attributes(feature="search", user_id="bob"):
        ask(replay_client)
    assert sorted((p.key["user"], p.spent_usd) for p in budgets.status()) == [("ann", CALL_COST), ("bob", CALL_COST)]


def test_the_day_rolls_over_at_midnight_in_the_budgets_time_zone(replay_client):
    clock = Clock()  # 2026-03-28 12:00 UTC = 13:00 in Berlin
    budgets.configure(
        [Budget("berlin", Scope(), Window("day", timezone="Europe/Berlin"), Decimal("0.3"), "raise")], now=clock
    )
    ask(replay_client)
    clock.advance(hours=10, minutes=59)  # 23:59 in Berlin
    with pytest.raises(BudgetExceeded):
        ask(replay_client)
    clock.advance(minutes=1)  # midnight in Berlin: a new (23-hour, DST) day
    ask(replay_client)
    pool = only_pool()
    assert pool.window_end - pool.window_start == timedelta(hours=23)
    assert pool.spent_usd == CALL_COST


def test_the_budget_file_is_read_at_the_first_call(monkeypatch, tmp_path, replay, replay_client):
    path = tmp_path / "budgets.yaml"
    path.write_text("budgets:\n  - {name: tiny, window: day, limit_usd: 0.1, action: raise}\n")
    monkeypatch.setenv("LLMLEDGER_BUDGETS_FILE", str(path))
    with pytest.raises(BudgetExceeded, match="budget 'tiny'"):
        ask(replay_client)
    assert replay.requests == 0


def test_a_budget_file_in_the_environment_alone_is_enforced_under_opentelemetry_instrument(tmp_path):
    """No llmledger import in the app: the instrumentor loads budgets at the first call because the file is named."""
    budget_file = tmp_path / "budgets.yaml"
    budget_file.write_text("budgets:\n  - {name: tiny, window: day, limit_usd: 0.000001, action: raise}\n")
    spans = zero_code.exported_spans(
        zero_code_client(*CHAT)
        + """
        import sys
        if "llmledger.instrumentation.budgets" in sys.modules:
            sys.exit(5)  # loaded before any call: every app would pay for it
        try:
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
        except Exception as error:
            print("refused:", type(error).__name__, file=sys.stderr)
            sys.exit(0 if type(error).__name__ == "BudgetExceeded" else 3)
        sys.exit(4)
        """,
        tmp_path,
        LLMLEDGER_BUDGETS_FILE=str(budget_file),
    )

    (span,) = spans
    assert span["attributes"]["error.type"] == "BudgetExceeded"


def test_a_bad_budget_file_without_a_raise_budget_is_logged_and_calls_go_ahead(
    monkeypatch, tmp_path, replay, replay_client, caplog
):
    path = tmp_path / "budgets.yaml"
    path.write_text("budgets:\n  - {name: tiny, window: weekly, limit_usd: 0.1, action: warn}\n")
    monkeypatch.setenv("LLMLEDGER_BUDGETS_FILE", str(path))
    ask(replay_client)
    assert replay.requests == 1
    (record,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.getMessage().startswith(
        f"llmledger: LLMLEDGER_BUDGETS_FILE={path}: budgets[0] (tiny): window must be"
    )
    assert "no budget is enforced until the file is fixed" in record.getMessage()


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (
            "budgets:\n  - {name: tiny, window: day, limit_usd: 0.1, action: raise\n",
            ", line 3, column 1: not valid YAML",
        ),
        ("budgets:\n  - {name: tiny, window: weekly, limit_usd: 0.1, action: raise}\n", ": budgets[0] (tiny): window"),
    ],
)
def test_a_bad_budget_file_that_may_hold_a_raise_budget_refuses_every_call_saying_why(
    monkeypatch, tmp_path, replay, replay_client, span_exporter, caplog, text, where
):
    path = tmp_path / "budgets.yaml"
    path.write_text(text)
    monkeypatch.setenv("LLMLEDGER_BUDGETS_FILE", str(path))

    for _ in range(2):
        with pytest.raises(BudgetFileUnusable) as refused:
            ask(replay_client)

    assert replay.requests == 0  # refused before anything was sent
    assert str(refused.value).startswith(f"LLMLEDGER_BUDGETS_FILE={path}{where}")
    assert "every LLM call is refused until the budget file is fixed" in str(refused.value)
    assert refused.value.path == str(path)
    assert not isinstance(refused.value, (openai.OpenAIError, ValueError))
    assert [span.attributes["error.type"] for span in span_exporter.get_finished_spans()] == ["BudgetFileUnusable"] * 2
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and f"LLMLEDGER_BUDGETS_FILE={path}{where}" in errors[0]  # logged once, not per call


def test_a_budget_file_that_cannot_be_read_refuses_every_call(monkeypatch, tmp_path, replay, replay_client):
    missing = tmp_path / "budgest.yaml"
    monkeypatch.setenv("LLMLEDGER_BUDGETS_FILE", str(missing))

    with pytest.raises(BudgetFileUnusable, match=f"LLMLEDGER_BUDGETS_FILE={missing}: cannot read budget file"):
        ask(replay_client)
    assert replay.requests == 0


def test_once_the_budget_file_is_fixed_its_budgets_apply_without_a_restart(
    monkeypatch, tmp_path, replay, replay_client, caplog
):
    from llmledger.instrumentation.budgets import _unusable

    monkeypatch.setattr(_unusable, "_CHECK_INTERVAL_NS", 0)  # look at the file at every call
    path = tmp_path / "budgets.yaml"
    path.write_text("budgets:\n  - {name: tiny, window: day, limit_usd: 0.3, action: raise\n")
    monkeypatch.setenv("LLMLEDGER_BUDGETS_FILE", str(path))
    with pytest.raises(BudgetFileUnusable):
        ask(replay_client)

    path.write_text("budgets:\n  - {name: tiny, window: day, limit_usd: 0.3, action: raise}\n")
    ask(replay_client)
    with pytest.raises(BudgetExceeded, match="budget 'tiny'"):
        ask(replay_client)
    assert replay.requests == 1
    assert any("is usable again; its budgets apply" in r.getMessage() for r in caplog.records)


def test_budgets_configured_in_code_replace_an_unusable_file(monkeypatch, tmp_path, replay, replay_client):
    path = tmp_path / "budgets.yaml"
    path.write_text("budgets: [ # action: raise\n")
    monkeypatch.setenv("LLMLEDGER_BUDGETS_FILE", str(path))
    with pytest.raises(BudgetFileUnusable):
        ask(replay_client)

    budgets.configure([daily("5")])
    ask(replay_client)
    assert replay.requests == 1


def test_an_unpriced_model_reserves_nothing_but_a_used_up_budget_refuses_it(monkeypatch, replay_client, caplog):
    budgets.configure([daily("0.2")])
    replay_client.chat.completions.create(model="my-finetune", messages=QUESTION)  # served the gpt-4o-mini answer
    assert only_pool().spent_usd == CALL_COST  # priced by the model the response names
    assert any("no price for openai model 'my-finetune'" in r.getMessage() for r in caplog.records)
    with pytest.raises(BudgetExceeded):
        replay_client.chat.completions.create(model="my-finetune", messages=QUESTION)


def test_a_keyboard_interrupt_while_sending_releases_the_reservation(replay, replay_openai):
    budgets.configure([daily("1")])

    def interrupt(request) -> None:
        assert only_pool().reserved_usd > 0
        raise KeyboardInterrupt

    http_client = openai.DefaultHttpxClient(event_hooks={"request": [interrupt]})
    sdk = openai.OpenAI(api_key="test", base_url=f"{replay.url}/v1", max_retries=0, http_client=http_client)
    with sdk, pytest.raises(KeyboardInterrupt):
        ask(sdk)
    assert (only_pool().spent_usd, only_pool().reserved_usd) == (0, 0)
    assert replay.requests == 0
