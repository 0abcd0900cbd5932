# SPDX-License-Identifier: Apache-2.0
"""The whole loop, in separate processes: an app with no telemetry code, run under `opentelemetry-instrument`,
calls the real OpenAI SDK against recorded traffic; its spans go over OTLP to `llmledger collector`; and
`llmledger sql` reads back exactly the tokens and dollars of the recordings.

Dollars are worked out by hand from the published prices (USD per million tokens, input / cached / output):
gpt-4o-mini 0.15 / 0.075 / 0.60, gpt-5-nano 0.05 / – / 0.40, gpt-4 30 / – / 60, text-embedding-ada-002 0.10,
gpt-4.1-nano 0.10 / – / 0.40.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from demo.cassettes import DEMO
from demo.replay_server import ReplayServer
from tests.collector.running import start_collector, wait_for

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

# (model, input, cache read, output, reasoning, USD) for every call demo/app.py makes, sorted.
EXPECTED = sorted(
    [
        ("gpt-4o-mini-2024-07-18", 1149, 0, 315, 0, "0.00036135"),  # 1149 × 0.15 + 315 × 0.60
        ("gpt-4o-mini-2024-07-18", 1149, 1024, 353, 0, "0.00030735"),  # 125 × 0.15 + 1024 × 0.075 + 353 × 0.60
        ("gpt-4o-mini-2024-07-18", 1149, 0, 297, 0, "0.00035055"),  # 1149 × 0.15 + 297 × 0.60
        ("gpt-4o-mini-2024-07-18", 1149, 0, 339, 0, "0.00037575"),  # 1149 × 0.15 + 339 × 0.60
        ("gpt-5-nano-2025-08-07", 11, 0, 228, 192, "0.00009175"),  # 11 × 0.05 + 228 × 0.40
        ("gpt-4-0613", 12, 0, 5, 0, "0.00066"),  # 12 × 30 + 5 × 60, streamed
        ("text-embedding-ada-002", 8, 0, 0, 0, "0.0000008"),  # 8 × 0.10
        ("gpt-4.1-nano-2025-04-14", 14, 0, 8, 0, "0.0000046"),  # 14 × 0.10 + 8 × 0.40, Responses API
    ]
)

QUERY = """
SELECT ResponseModel, InputTokens, CacheReadInputTokens, OutputTokens, ReasoningOutputTokens,
       toString(TotalCost) AS usd, Provider, ServiceName, Environment, CostSource
FROM llm_calls FINAL ORDER BY ResponseModel, InputTokens, CacheReadInputTokens, OutputTokens
"""


@pytest.fixture
def collector(clickhouse, tmp_path):
    database = f"app_{tmp_path.name[-20:].replace('-', '_')}"
    clickhouse.client.command(f"CREATE DATABASE IF NOT EXISTS {database}")
    running = start_collector(["--clickhouse-url", clickhouse.url, "--database", database, "--flush-interval", "0.2"])
    yield running, database
    assert running.stop() == 0, running.text
    clickhouse.client.command(f"DROP DATABASE IF EXISTS {database} SYNC")


def _sql(clickhouse, database: str) -> list[dict]:
    done = subprocess.run(
        [
            str(BIN / "llmledger"),
            "sql",
            "--clickhouse-url",
            clickhouse.url,
            "--database",
            database,
            "--format",
            "json",
            QUERY,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    rows: list[dict] = json.loads(done.stdout)  # one JSON document: an array of objects
    return rows


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_llmledger_sql_returns_the_recorded_tokens_and_dollars(protocol, collector, clickhouse):
    running, database = collector
    endpoint = f"http://{running.grpc_endpoint}" if protocol == "grpc" else f"http://127.0.0.1:{running.http_port}"
    with ReplayServer(DEMO, successful_only=True) as replay:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLMLEDGER_"))},
            "OPENAI_BASE_URL": f"{replay.url}/v1",
            "OPENAI_API_KEY": "test",
            "LLMLEDGER_PROVIDER_HOSTS": f"{replay.url.split('//')[1]}=openai",
            "OTEL_SERVICE_NAME": "e2e-app",
            "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=test",
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_METRICS_EXPORTER": "none",
            "OTEL_LOGS_EXPORTER": "none",
            "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
            "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
            # Where the official or OpenLLMetry OpenAI instrumentors are installed too (the benchmark installs them),
            # keep one span per call, as the README tells users to.
            "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "openai",
        }
        app = subprocess.run(
            [str(BIN / "opentelemetry-instrument"), sys.executable, str(ROOT / "demo" / "app.py")],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert app.returncode == 0, app.stderr
        assert replay.requests == len(EXPECTED)

    wait_for(lambda: len(_sql(clickhouse, database)), len(EXPECTED))
    rows = _sql(clickhouse, database)
    got = sorted(
        (
            r["ResponseModel"],
            int(r["InputTokens"]),
            int(r["CacheReadInputTokens"]),
            int(r["OutputTokens"]),
            int(r["ReasoningOutputTokens"]),
            r["usd"],
        )
        for r in rows
    )
    assert got == EXPECTED
    assert {(r["Provider"], r["ServiceName"], r["Environment"]) for r in rows} == {("openai", "e2e-app", "test")}
    assert {r["CostSource"] for r in rows} == {"instrumentation"}  # priced in the app by llmledger, kept
