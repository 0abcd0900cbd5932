# SPDX-License-Identifier: Apache-2.0
"""Fixtures of the dashboard's tests.

* `week_of_calls` (session) — 336 deterministic calls, one every half hour over the last week: three tenants,
  three services, four features, five models (one without a price), twelve users, cache reads, failures and a
  few streams whose usage never arrived.
* `loaded` (module) — `client` with `week_of_calls` inserted; `empty` — a fresh database with no calls.
* `chromium` (session) — headless Chromium (`browser.Chromium`); the tests skip, saying why, only where
  `scripts/install-browser` could not install it, and fail under CI (`CI=true`), which must have it.
* `page` — a new tab of it, closed after the test.
* `screenshots` — the folder screenshots are kept in: `build/dashboard-screenshots/` of the checkout.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from time import time_ns

import pytest
from clickhouse_connect.driver.client import Client

from llmledger.collector.exporters.clickhouse import migrations
from llmledger.collector.llm_calls import LlmCall

from .browser import Chromium, Page, chromium_missing

_HALF_HOUR_NS = 1800 * 10**9
_MODELS = (
    ("openai", "gpt-4o-mini", Decimal("0.15"), Decimal("0.6")),
    ("openai", "gpt-4o", Decimal("2.5"), Decimal("10")),
    ("anthropic", "claude-sonnet-4", Decimal("3"), Decimal("15")),
    ("google", "gemini-2.5-flash", Decimal("0.3"), Decimal("2.5")),
    ("vllm", "llama-local", None, None),
)


_COLUMNS = {  # llm_calls column → LlmCall field: the columns these calls set, inserted by name
    "Timestamp": "timestamp_ns",
    "TraceId": "trace_id",
    "SpanId": "span_id",
    "SpanName": "span_name",
    "DurationMs": "duration_ms",
    "Tenant": "tenant",
    "ServiceName": "service_name",
    "Environment": "environment",
    "Feature": "feature",
    "UserId": "user_id",
    "SessionId": "session_id",
    "Provider": "provider",
    "Operation": "operation",
    "RequestModel": "request_model",
    "ResponseModel": "response_model",
    "PricedModel": "priced_model",
    "StatusCode": "status_code",
    "ErrorType": "error_type",
    "IsStreaming": "is_streaming",
    "UsageComplete": "usage_complete",
    "InputTokens": "input_tokens",
    "OutputTokens": "output_tokens",
    "CacheReadInputTokens": "cache_read_input_tokens",
    "ReasoningOutputTokens": "reasoning_output_tokens",
    "InputCost": "input_cost",
    "CacheReadCost": "cache_read_cost",
    "OutputCost": "output_cost",
    "TotalCost": "total_cost",
    "CacheSavings": "cache_savings",
    "CostSource": "cost_source",
}


def insert_calls(client: Client, calls: list[LlmCall]) -> None:
    """Insert `calls` into `llm_calls` by column name (the rollups fill themselves)."""
    from datetime import UTC, datetime

    def value(call: LlmCall, name: str) -> object:
        found = getattr(call, name)
        if name == "timestamp_ns":
            return datetime.fromtimestamp(found / 1e9, UTC)
        return found

    rows = [[value(call, field) for field in _COLUMNS.values()] for call in calls]
    client.insert("llm_calls", rows, column_names=list(_COLUMNS))


def make_calls(count: int = 336, *, now_ns: int | None = None) -> list[LlmCall]:
    now = now_ns or time_ns()
    calls = []
    million = Decimal(1_000_000)
    for index in range(count):
        provider, model, input_rate, output_rate = _MODELS[(index * 7) % len(_MODELS)]
        input_tokens = 800 + (index * 131) % 4000
        output_tokens = 60 + (index * 53) % 900
        cache_read = input_tokens // 2 if index % 4 == 0 else 0
        streaming = index % 6 == 0
        complete = not (streaming and index % 48 == 0)
        call = LlmCall(
            timestamp_ns=now - (index + 1) * _HALF_HOUR_NS + (index * 7919) % 10**9,
            trace_id=hashlib.sha256(f"trace {index // 4}".encode()).hexdigest()[:32],
            span_id=hashlib.sha256(f"span {index}".encode()).hexdigest()[:16],
            span_name=f"chat {model}",
            duration_ms=300.0 + (index * 37) % 4000,
            tenant=("acme", "globex", "initech")[index % 3],
            service_name=("support-bot", "search", "billing")[(index // 2) % 3],
            environment="prod",
            feature=("answer", "summarize", "classify", "extract")[index % 4],
            user_id=f"user-{index % 12}",
            session_id=f"session-{index // 8}",
            provider=provider,
            operation="chat",
            request_model=model,
            response_model=model,
            status_code="Error" if index % 23 == 22 else "Ok",
            error_type="RateLimitError" if index % 23 == 22 else "",
            is_streaming=streaming,
            usage_complete=complete,
            input_tokens=input_tokens if complete else 0,
            output_tokens=output_tokens if complete else 0,
            cache_read_input_tokens=cache_read if complete else 0,
            reasoning_output_tokens=40 if provider == "anthropic" else 0,
        )
        if input_rate is not None and output_rate is not None and complete:
            call.priced_model = model
            call.input_cost = (input_tokens - cache_read) * input_rate / million
            call.cache_read_cost = cache_read * input_rate / 10 / million
            call.output_cost = output_tokens * output_rate / million
            call.total_cost = call.input_cost + call.cache_read_cost + call.output_cost
            call.cache_savings = cache_read * input_rate * 9 / 10 / million
            call.cost_source = "collector"
        else:
            call.cost_source = "unpriced"
        calls.append(call)
    return calls


@pytest.fixture(scope="session")
def week_of_calls() -> list[LlmCall]:
    return make_calls()


BUDGETS = """
budgets:
  - {name: acme-monthly, scope: {tenant: acme}, window: month, limit_usd: 1}
  - {name: search-daily, scope: {service: search}, window: day, limit_usd: 0.5}
  - {name: per-user-24h, window: rolling 24h, limit_usd: 0.05, per: [user]}
"""


@pytest.fixture(scope="module")
def loaded(client: Client, week_of_calls: list[LlmCall], tmp_path_factory: pytest.TempPathFactory) -> Client:
    """`client` with `week_of_calls` and three budgets (as the collector syncs its budget file)."""
    from llmledger._core.budget_file import load
    from llmledger.collector.budgets import sync

    insert_calls(client, week_of_calls)
    path = tmp_path_factory.mktemp("budgets") / "budgets.yaml"
    path.write_text(BUDGETS)
    sync(client, load(path))
    return client


@pytest.fixture(scope="module")
def empty(clickhouse) -> Iterator[str]:  # type: ignore[no-untyped-def]
    name = f"dashboard_empty_{uuid.uuid4().hex[:8]}"
    migrations.apply(clickhouse.client, name, raw_spans=False)
    yield name
    clickhouse.client.command(f"DROP DATABASE IF EXISTS {name} SYNC")


@pytest.fixture(scope="session")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    missing = chromium_missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"{missing}; CI must have it (scripts/test runs scripts/install-browser)")
        pytest.skip(missing)
    browser = Chromium.start(tmp_path_factory.mktemp("chromium-profile"))
    yield browser
    browser.stop()


@pytest.fixture
def page(chromium: Chromium) -> Iterator[Page]:
    tab = chromium.new_page()
    yield tab
    tab.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    folder = Path(__file__).resolve().parents[3] / "build" / "dashboard-screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
