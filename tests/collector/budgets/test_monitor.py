# SPDX-License-Identifier: Apache-2.0
"""The collector's budget loop: the status route answers from a short cache, 503 when ClickHouse cannot answer,
and the HTTP receiver serves it on GET next to OTLP."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from llmledger._core.budget_file import Budget, BudgetFile, Scope, Window
from llmledger.collector.budgets import STATUS_PATH, BudgetMonitor
from llmledger.collector.exporters.clickhouse.writer import insert_llm_calls
from llmledger.collector.llm_calls import LlmCall
from llmledger.collector.receivers.otlp_http import HttpReceiver

BUDGETS = BudgetFile(budgets=(Budget("m-day", Scope(tenant="m"), Window("day"), Decimal(1)),))
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _spend(client, span: int, usd: str) -> None:
    at = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(minutes=span)
    ns = (at - _EPOCH) // timedelta(microseconds=1) * 1000
    insert_llm_calls(client, [LlmCall(ns, f"m{span}", f"{span:016x}", tenant="m", total_cost=Decimal(usd))])


def _spent(body: bytes) -> str:
    (entry,) = json.loads(body)["budgets"]
    return entry["spent_usd"]


def test_the_status_route_answers_from_the_cache_until_it_expires(client):
    monitor = BudgetMonitor(client, BUDGETS, cache_seconds=3600)
    _spend(client, 1, "0.25")
    status, content_type, first = monitor.handle_status()
    assert (status, content_type, _spent(first)) == (200, "application/json", "0.25")

    _spend(client, 2, "0.5")
    assert monitor.handle_status()[2] == first  # cached: same body, same generated_at
    monitor.cache_seconds = 0
    assert _spent(monitor.handle_status()[2]) == "0.75"


def test_the_status_route_answers_503_when_clickhouse_cannot(clickhouse):
    elsewhere = clickhouse.connect()  # the `default` database: no budget tables there
    status, content_type, body = BudgetMonitor(elsewhere, BUDGETS).handle_status()
    assert (status, content_type) == (503, "application/json")
    assert json.loads(body)["error"].startswith("budget status unavailable")


def test_the_http_receiver_serves_get_routes_next_to_otlp():
    def broken() -> tuple[int, str, bytes]:
        raise RuntimeError("bug")

    routes = {STATUS_PATH: lambda: (200, "application/json", b'{"budgets": []}'), "/broken": broken}
    receiver = HttpReceiver(None, "127.0.0.1", 0, routes=routes).start()  # type: ignore[arg-type]
    base = f"http://127.0.0.1:{receiver.port}"
    try:
        with urllib.request.urlopen(base + STATUS_PATH, timeout=10) as response:
            assert (response.status, response.read()) == (200, b'{"budgets": []}')
            assert response.headers["Cache-Control"] == "no-store"
        for path, code in (("/broken", 500), ("/v1/traces", 405), ("/nothing", 404)):
            with pytest.raises(urllib.error.HTTPError) as error:
                urllib.request.urlopen(base + path, timeout=10)
            assert error.value.code == code, path
    finally:
        receiver.stop()
