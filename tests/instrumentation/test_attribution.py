# SPDX-License-Identifier: Apache-2.0
"""Attribution: which user, session, feature and tenant a call is for, from code, context and baggage."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from concurrent.futures import ThreadPoolExecutor

import openai
import pytest
from opentelemetry import baggage
from opentelemetry import context as otel_context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

import llmledger
from llmledger import Budget, BudgetExceeded, Scope, Window, attributes
from llmledger.instrumentation.attribution import current
from llmledger.instrumentation.openai import OpenAIInstrumentor

QUESTION = [{"role": "user", "content": "Say this is a test"}]


def test_nesting_merges_the_inner_value_wins_and_leaving_restores():
    with attributes(user_id="ann", feature="search", team="core"):
        with attributes(feature="summarise", tenant="acme"):
            assert current() == {
                "llmledger.user_id": "ann",
                "llmledger.feature": "summarise",
                "llmledger.tenant": "acme",
                "llmledger.custom.team": "core",
            }
        assert current() == {"llmledger.user_id": "ann", "llmledger.feature": "search", "llmledger.custom.team": "core"}
    assert current() == {}


def test_custom_values_keep_their_type_or_become_text():
    with attributes(session_id=42, retries=3, beta=True, ratio=0.5, tags=["a"]):  # type: ignore[arg-type]
        assert current() == {
            "llmledger.session_id": "42",
            "llmledger.custom.retries": 3,
            "llmledger.custom.beta": True,
            "llmledger.custom.ratio": 0.5,
            "llmledger.custom.tags": "['a']",
        }


def test_decorates_sync_and_async_functions():
    @attributes(feature="sync")
    def sync() -> dict:
        return current()

    @attributes(feature="async")
    async def run_async() -> dict:
        await asyncio.sleep(0)
        return current()

    with attributes(user_id="ann"):
        assert sync() == {"llmledger.user_id": "ann", "llmledger.feature": "sync"}
        assert asyncio.run(run_async()) == {"llmledger.user_id": "ann", "llmledger.feature": "async"}
    assert sync.__name__ == "sync" and current() == {}


def test_one_decorated_function_runs_in_many_tasks_at_once_without_mixing_values():
    @attributes(feature="shared")
    async def who(user: str) -> dict:
        with attributes(user_id=user):
            await asyncio.sleep(0.001)
            return current()

    async def main() -> list[dict]:
        return await asyncio.gather(*(who(f"u{i}") for i in range(20)))

    assert [r["llmledger.user_id"] for r in asyncio.run(main())] == [f"u{i}" for i in range(20)]


def test_asyncio_tasks_inherit_the_context_they_are_created_in():
    async def main() -> dict:
        with attributes(tenant="acme"):
            task = asyncio.create_task(asyncio.sleep(0, current()))
        return await task

    assert asyncio.run(main()) == {"llmledger.tenant": "acme"}


def test_threads_see_it_only_when_the_context_is_carried_over():
    seen: dict[str, dict] = {}
    with attributes(user_id="ann"):
        plain = threading.Thread(target=lambda: seen.update(plain=current()))
        copied = threading.Thread(target=contextvars.copy_context().run, args=(lambda: seen.update(copied=current()),))
        for thread in (plain, copied):
            thread.start()
            thread.join(timeout=10)
        with ThreadPoolExecutor(4) as pool:
            unbound = pool.submit(current).result(timeout=10)
            bound = [f.result(timeout=10) for f in [pool.submit(llmledger.bind(current)) for _ in range(8)]]
    assert seen == {"plain": {}, "copied": {"llmledger.user_id": "ann"}}
    assert unbound == {}
    assert bound == [{"llmledger.user_id": "ann"}] * 8


def test_baggage_counts_and_explicit_attributes_win_over_it():
    ctx = baggage.set_baggage("llmledger.user_id", "from-baggage")
    ctx = baggage.set_baggage("llmledger.tenant", "acme", ctx)
    ctx = baggage.set_baggage("llmledger.custom.plan", "pro", ctx)
    ctx = baggage.set_baggage("unrelated", "ignored", ctx)
    token = otel_context.attach(ctx)
    try:
        assert current() == {
            "llmledger.user_id": "from-baggage",
            "llmledger.tenant": "acme",
            "llmledger.custom.plan": "pro",
        }
        with attributes(user_id="explicit"):
            assert current()["llmledger.user_id"] == "explicit"
    finally:
        otel_context.detach(token)


def test_every_llm_span_beneath_carries_the_attribution(replay_client, span_exporter):
    with attributes(user_id="ann", session_id="s-1", feature="search", tenant="acme", plan="pro"):
        replay_client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION)
    replay_client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION)

    tagged, untagged = span_exporter.get_finished_spans()
    assert {
        k: v
        for k, v in tagged.attributes.items()
        if k.startswith("llmledger.") and "cost" not in k and "price" not in k
    } == {
        "llmledger.user_id": "ann",
        "llmledger.session_id": "s-1",
        "llmledger.feature": "search",
        "llmledger.tenant": "acme",
        "llmledger.custom.plan": "pro",
    }
    assert "llmledger.user_id" not in untagged.attributes


def test_spans_from_asyncio_tasks_and_bound_threads_carry_it(replay, replay_client, replay_async_client, span_exporter):
    async def in_tasks() -> None:
        async def one(user: str) -> None:
            with attributes(user_id=user):
                await replay_async_client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION)

        with attributes(feature="batch"):
            await asyncio.gather(one("t1"), one("t2"))

    asyncio.run(in_tasks())
    with attributes(feature="pool"), ThreadPoolExecutor(2) as pool:
        call = llmledger.bind(lambda: replay_client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION))
        pool.submit(call).result(timeout=30)

    tags = sorted(
        (s.attributes.get("llmledger.feature"), s.attributes.get("llmledger.user_id"))
        for s in span_exporter.get_finished_spans()
    )
    assert tags == [("batch", "t1"), ("batch", "t2"), ("pool", None)]


def test_resource_attributes_give_budgets_their_default_tenant_and_service(monkeypatch, replay, span_exporter):
    provider = TracerProvider(resource=Resource({"service.name": "checkout", "tenant.id": "acme"}))
    provider.add_span_processor(SimpleSpanProcessor(span_exporter))
    monkeypatch.setenv("LLMLEDGER_PROVIDER_HOSTS", f"{replay.url.split('//')[1]}=openai")
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    llmledger.budgets.configure(
        [Budget("acme-checkout", Scope(tenant="acme", service="checkout"), Window("day"), 0, "raise")]
    )
    try:
        with openai.OpenAI(api_key="test", base_url=f"{replay.url}/v1", max_retries=0) as client:
            with pytest.raises(BudgetExceeded, match="scope tenant=acme service=checkout"):
                client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION)
            with attributes(tenant="other"):  # explicit attribution wins over the resource
                client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION)
    finally:
        instrumentor.uninstrument()
        llmledger.budgets.clear()
    assert replay.requests == 1
