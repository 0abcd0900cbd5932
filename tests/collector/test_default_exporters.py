# SPDX-License-Identifier: Apache-2.0
"""The README's collect command as a user runs it: an app under `opentelemetry-instrument` with the default
exporters (traces, metrics and logs, all over OTLP) pointed at `llmledger collector`. Every export succeeds (the
SDK prints no export error: before the collector took metrics and logs, each metrics export failed with a 404),
and the collector counts the spans, metric data points and log records it got."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from demo.cassettes import DEMO
from demo.replay_server import ReplayServer
from tests.collector.running import start_collector, wait_for
from tests.collector.test_health import metrics

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CALLS = 8  # demo/app.py's LLM calls
# How the SDK's exporters report a failed export (HTTP: "Failed to export metrics batch code: 404, reason: …";
# gRPC: "Failed to export metrics to …, error code: StatusCode.UNIMPLEMENTED"; transient ones are retried first).
EXPORT_ERROR = re.compile(r"Failed to export|Exception while exporting|Transient error|error code")
# The demo app, after one log record through the OpenTelemetry logs API (what a logging bridge emits).
APP = """
import runpy
import sys

from opentelemetry._logs import SeverityNumber, get_logger

get_logger("shop").emit(severity_number=SeverityNumber.WARN, severity_text="WARN", body="a joke was asked for")
runpy.run_path(sys.argv[1], run_name="__main__")
"""


@pytest.fixture
def collector(clickhouse, tmp_path):
    database = f"defaults_{tmp_path.name[-20:].replace('-', '_')}"
    running = start_collector(["--clickhouse-url", clickhouse.url, "--database", database, "--flush-interval", "0.2"])
    yield running
    assert running.stop() == 0, running.text
    clickhouse.client.command(f"DROP DATABASE IF EXISTS {database} SYNC")


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_an_app_under_opentelemetry_instrument_exports_all_three_signals_without_an_error(
    protocol, collector, tmp_path
):
    app = tmp_path / "app.py"
    app.write_text(APP)
    port = collector.http_port if protocol == "http/protobuf" else collector.grpc_port
    with ReplayServer(DEMO, successful_only=True) as replay:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLMLEDGER_"))},
            "OPENAI_BASE_URL": f"{replay.url}/v1",
            "OPENAI_API_KEY": "test",
            "LLMLEDGER_PROVIDER_HOSTS": f"{replay.url.split('//')[1]}=openai",
            "OTEL_SERVICE_NAME": "defaults-app",
            # as the README's collect command: the endpoint and protocol, and every exporter left at its default
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
            "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
            "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "openai",  # one span per call where peers are installed
        }
        done = subprocess.run(
            [str(BIN / "opentelemetry-instrument"), sys.executable, str(app), str(ROOT / "demo" / "app.py")],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert replay.requests == CALLS

    assert not EXPORT_ERROR.search(done.stderr), done.stderr
    spans = ("llmledger_collector_received_spans_total", ())
    points = ("llmledger_collector_received_metric_points_total", ())
    records = ("llmledger_collector_received_log_records_total", ())
    assert wait_for(lambda: metrics(collector.http_port)[spans] >= CALLS, True)
    counted = metrics(collector.http_port)
    assert counted[points] > 0  # the instrumentation's token usage and duration histograms, at least
    assert counted[records] == 1
