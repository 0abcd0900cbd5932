# SPDX-License-Identifier: Apache-2.0
"""Real ClickHouse for the collector's tests: one embedded server per session, one fresh database per module.

Fixtures:

* `clickhouse` (session) — a `ClickHouseServer`: the product's own `EmbeddedClickHouse` (chdb-core, loopback,
  free ports) started in a temporary data directory. Attributes: `.url` (http://127.0.0.1:PORT), `.http_port`,
  `.tcp_port`, `.data_dir`, `.server` (the `EmbeddedClickHouse`), `.client` (a clickhouse-connect client on
  database `default`), and `.connect(database=None)` for another client. Never run an unfiltered
  `KILL QUERY` against it: the engine's keep-alive query is what keeps it serving.
* `database` (module) — the name of a fresh database with every migration applied (raw spans included),
  dropped after the module.
* `client` (module) — a client whose default database is `database`.
* `sample_calls` (session) — a varied, deterministic set of `LlmCall`s in the last few days (tenants, models, users,
  traces, sessions, Decimal costs, cached and unpriced calls, errors).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from time import time_ns

import pytest
from clickhouse_connect.driver.client import Client

from llmledger.collector.exporters.clickhouse import migrations
from llmledger.collector.exporters.clickhouse.client import connect
from llmledger.collector.exporters.clickhouse.embedded import EmbeddedClickHouse
from llmledger.collector.llm_calls import LlmCall


@dataclass
class ClickHouseServer:
    server: EmbeddedClickHouse
    client: Client
    _clients: list[Client] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def http_port(self) -> int:
        return self.server.http_port

    @property
    def tcp_port(self) -> int:
        return self.server.tcp_port

    @property
    def data_dir(self) -> Path:
        return self.server.data_dir

    def connect(self, database: str | None = None) -> Client:
        client = connect(self.url, database=database)
        self._clients.append(client)
        return client


@pytest.fixture(scope="session")
def clickhouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClickHouseServer]:
    with EmbeddedClickHouse(tmp_path_factory.mktemp("llmledger-data")) as server:
        handle = ClickHouseServer(server, connect(server.url))
        yield handle
        for client in (*handle._clients, handle.client):
            client.close()


@pytest.fixture(scope="module")
def database(clickhouse: ClickHouseServer, request: pytest.FixtureRequest) -> Iterator[str]:
    stem = re.sub(r"\W", "_", request.module.__name__.rsplit(".", 1)[-1])
    name = f"{stem}_{uuid.uuid4().hex[:8]}"
    migrations.apply(clickhouse.client, name, raw_spans=True)
    yield name
    clickhouse.client.command(f"DROP DATABASE IF EXISTS {name} SYNC")


@pytest.fixture(scope="module")
def client(clickhouse: ClickHouseServer, database: str) -> Client:
    return clickhouse.connect(database)


_HOUR_NS = 3600 * 10**9


@pytest.fixture(scope="session")
def sample_calls() -> list[LlmCall]:
    """Thirty calls over the last three days: two tenants, three priced models and one unpriced, five users."""
    now = time_ns()
    models = [
        ("openai", "gpt-4o-mini", Decimal("0.15"), Decimal("0.6")),
        ("openai", "gpt-4o", Decimal("2.5"), Decimal("10")),
        ("anthropic", "claude-sonnet-4", Decimal("3"), Decimal("15")),
        ("vllm", "llama-local", None, None),
    ]
    calls = []
    for index in range(30):
        provider, model, input_rate, output_rate = models[index % len(models)]
        input_tokens = 1000 + 37 * index
        output_tokens = 100 + 11 * index
        cache_read = 400 if index % 3 == 0 else 0
        call = LlmCall(
            timestamp_ns=now - (index * 2 + 1) * _HOUR_NS - index * 1_000_003,
            trace_id=f"{index // 3 + 1:032x}",
            span_id=f"{index + 1:016x}",
            span_name=f"chat {model}",
            duration_ms=200.0 + index,
            tenant="acme" if index % 2 == 0 else "globex",
            service_name="support-bot" if index % 5 else "search",
            environment="prod" if index % 4 else "staging",
            feature=["answer", "summarize", "classify"][index % 3],
            user_id=f"user-{index % 5}",
            session_id=f"session-{index // 6}",
            provider=provider,
            operation="chat",
            request_model=model,
            response_model=model,
            status_code="Error" if index % 7 == 6 else "Ok",
            error_type="RateLimitError" if index % 7 == 6 else "",
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cache_read_input_tokens=cache_read,
            reasoning_output_tokens=10 if provider == "anthropic" else 0,
            attributes={"team": "core" if index % 2 else "growth"},
        )
        if input_rate is not None and output_rate is not None:
            million = Decimal(1_000_000)
            call.priced_model = model
            call.input_cost = (input_tokens - cache_read) * input_rate / million
            call.cache_read_cost = cache_read * input_rate / 2 / million
            call.output_cost = output_tokens * output_rate / million
            call.total_cost = call.input_cost + call.cache_read_cost + call.output_cost
            call.cache_savings = cache_read * input_rate / 2 / million
            call.cost_source = "collector"
            call.price_id = f"price-{model}"
        calls.append(call)
    return calls
