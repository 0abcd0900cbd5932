# SPDX-License-Identifier: Apache-2.0
"""A running `llmledger collector --budgets-file` serves GET /v1/budgets/status and posts alerts.

Spans go in over OTLP/HTTP as an instrumented app sends them (attribution and custom attributes on the span,
defaults on the resource); the status endpoint then returns the contract JSON with the spend ClickHouse holds,
the alert reaches a loopback webhook once, and the custom attributes are in `llm_calls.Attributes`.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from decimal import Decimal

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.collector.budgets.conftest import WebhookReceiver
from tests.collector.running import start_collector, wait_for

COSTS = {"ana": ["0.25", "0.5"], "bo": ["0.125"]}


@pytest.fixture(scope="module")
def budget_file(tmp_path_factory):
    return tmp_path_factory.mktemp("budgets") / "budgets.yaml"


@pytest.fixture(scope="module")
def hook():
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


def _start(clickhouse, database, budget_file):
    return start_collector(
        [
            *("--clickhouse-url", clickhouse.url, "--database", database, "--flush-interval", "0.1"),
            *("--budgets-file", str(budget_file), "--budget-interval", "0.2", "--attribute", "app.region"),
        ]
    )


@pytest.fixture(scope="module")
def collector(clickhouse, database, budget_file, hook):
    budget_file.write_text(
        f"webhook: {hook.url}\n"
        "budgets:\n"
        "  - name: e2e-day\n"
        "    scope: {tenant: e2e}\n"
        "    window: day\n"
        "    limit_usd: 1.5\n"
        "    alerts: [0.5, 2]\n"
        "  - name: e2e-users\n"
        "    scope: {tenant: e2e}\n"
        "    window: rolling 24h\n"
        "    limit_usd: 1\n"
        "    per: [user]\n"
        "    action: raise\n"
        "    alerts: [5]\n"
    )
    running = _start(clickhouse, database, budget_file)
    _send(running)
    yield running
    assert running.stop() == 0, running.text


def _send(collector) -> None:
    provider = TracerProvider(resource=Resource.create({"service.name": "e2e-app", "llmledger.tenant": "e2e"}))
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("test")
    for user, costs in COSTS.items():
        for cost in costs:
            with tracer.start_as_current_span("chat gpt-4o-mini") as span:
                span.set_attributes(
                    {
                        "gen_ai.operation.name": "chat",
                        "gen_ai.provider.name": "openai",
                        "gen_ai.request.model": "gpt-4o-mini",
                        "gen_ai.usage.input_tokens": 10,
                        "gen_ai.usage.output_tokens": 5,
                        "gen_ai.usage.cost": float(cost),
                        "llmledger.user_id": user,
                        "llmledger.feature": "answer",
                        "llmledger.custom.team": "core",
                        "app.region": "eu-west-1",
                        "app.secret": "not copied",
                    }
                )
    body = encode_spans(memory.get_finished_spans()).SerializeToString()
    request = urllib.request.Request(
        collector.http_url, data=body, headers={"Content-Type": "application/x-protobuf"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def _status(collector) -> dict:
    url = f"http://127.0.0.1:{collector.http_port}/v1/budgets/status"
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.headers["Content-Type"] == "application/json"
        return json.loads(response.read())


def _spent(collector) -> dict[tuple[str, str], Decimal]:
    return {
        (entry["name"], entry["key"].get("user", "")): Decimal(entry["spent_usd"])
        for entry in _status(collector)["budgets"]
    }


def test_the_status_endpoint_returns_the_contract_json_with_the_stored_spend(collector, client):
    expected = {
        ("e2e-day", ""): Decimal("0.875"),
        ("e2e-users", "ana"): Decimal("0.75"),
        ("e2e-users", "bo"): Decimal("0.125"),
    }
    assert wait_for(lambda: _spent(collector), expected) == expected

    document = _status(collector)
    assert set(document) == {"generated_at", "budgets"}
    assert document["generated_at"].endswith("Z")
    ana = next(entry for entry in document["budgets"] if entry["key"] == {"user": "ana"})
    assert ana == {
        "name": "e2e-users",
        "key": {"user": "ana"},
        "window_start": ana["window_start"],
        "window_end": document["generated_at"],  # a rolling window ends now
        "limit_usd": "1",
        "spent_usd": "0.75",
        "fraction": 0.75,
        "burn_rate_usd_per_hour": pytest.approx(0.75 / 24),
        "projected_usd": "0.75",
        "action": "raise",
    }
    (total,) = client.query(
        "SELECT sum(TotalCost) FROM llm_calls FINAL WHERE Tenant = 'e2e' AND Timestamp >= toStartOfDay(now(), 'UTC')"
    ).result_rows[0]
    assert Decimal(next(e for e in document["budgets"] if e["name"] == "e2e-day")["spent_usd"]) == total


def test_custom_and_allow_listed_attributes_land_in_the_attributes_column(collector, client):
    rows = wait_for(
        lambda: (
            client.query(
                "SELECT DISTINCT Tenant, ServiceName, Feature, UserId, Attributes FROM llm_calls FINAL "
                "WHERE Tenant = 'e2e' ORDER BY UserId"
            ).result_rows
        ),
        [
            ("e2e", "e2e-app", "answer", "ana", {"team": "core", "app.region": "eu-west-1"}),
            ("e2e", "e2e-app", "answer", "bo", {"team": "core", "app.region": "eu-west-1"}),
        ],
    )
    assert [row[3] for row in rows] == ["ana", "bo"]
    assert all(row[4] == {"team": "core", "app.region": "eu-west-1"} for row in rows)


def test_the_collector_syncs_the_file_into_llm_budgets_and_the_status_view(collector, client):
    assert client.query("SELECT Name FROM llm_budgets FINAL WHERE Deleted = 0 ORDER BY Name").result_rows == [
        ("e2e-day",),
        ("e2e-users",),
    ]
    rows = client.query("SELECT Name, Key, SpentUsd FROM llm_budget_status WHERE Name = 'e2e-day'").result_rows
    assert rows == [("e2e-day", {}, Decimal("0.875"))]


def test_other_get_paths_are_still_404(collector):
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(f"http://127.0.0.1:{collector.http_port}/v1/budgets", timeout=10)
    assert error.value.code == 404


def test_the_alert_reaches_the_webhook_once_even_across_a_restart(clickhouse, database, budget_file, collector, hook):
    bodies = hook.wait_for(1)  # 0.875 of 1.5: past 50 %
    assert [(body["budget"], body["threshold"], body["spent"]) for body in bodies] == [("e2e-day", 0.5, "0.875")]
    assert "budget e2e-day reached 50% of its limit" in collector.text

    collector.stop()
    restarted = _start(clickhouse, database, budget_file)
    try:
        wait_for(lambda: len(hook.bodies), 2, timeout=1.5)  # several evaluations: time for a wrong second alert
        assert _spent(restarted)[("e2e-day", "")] == Decimal("0.875")
    finally:
        assert restarted.stop() == 0, restarted.text
    assert len(hook.bodies) == 1
