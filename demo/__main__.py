# SPDX-License-Identifier: Apache-2.0
"""`python -m demo`: the whole loop on the embedded default, on one machine, with no network.

1. `llmledger collector` starts, with its embedded ClickHouse, on free loopback ports;
2. a loopback server replays recorded OpenAI traffic;
3. the sample app (no telemetry code) runs under `opentelemetry-instrument`, exporting OTLP to the collector;
4. each call's model, tokens and cost come back out of ClickHouse with `llmledger sql`, then `llmledger report`.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from demo.cassettes import DEMO
from demo.replay_server import ReplayServer

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CALLS_SQL = """
SELECT formatDateTime(Timestamp, '%T') AS time, ServiceName AS service, Provider AS provider,
       ResponseModel AS model, InputTokens AS input, CacheReadInputTokens AS cached,
       OutputTokens AS output, ReasoningOutputTokens AS reasoning, toString(round(TotalCost, 8)) AS usd,
       CostSource AS source
FROM llm_calls FINAL ORDER BY Timestamp
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _llmledger(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "llmledger"), *args], text=True, check=False, **kwargs)  # type: ignore[call-overload]


def _wait_for_port(port: int, process: subprocess.Popen[str], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the collector exited early with code {process.returncode}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise SystemExit(f"the collector did not listen on port {port} within {timeout_s:.0f}s")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="keep ClickHouse data here (default: a temporary directory)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="llmledger-demo-") as scratch:
        data_dir = args.data_dir or scratch
        http_port, grpc_port = _free_port(), _free_port()
        storage = ["--data-dir", data_dir]
        print(f"1. collector with embedded ClickHouse (data in {data_dir}) …", flush=True)
        collector = subprocess.Popen(
            [
                str(BIN / "llmledger"),
                "collector",
                *storage,
                "--http-port",
                str(http_port),
                "--grpc-port",
                str(grpc_port),
            ],
            text=True,
        )
        try:
            _wait_for_port(http_port, collector)
            with ReplayServer(DEMO, successful_only=True) as replay:
                print(f"2. recorded OpenAI traffic replayed at {replay.url}", flush=True)
                print("3. opentelemetry-instrument python demo/app.py", flush=True)
                env = {
                    **os.environ,
                    "OPENAI_BASE_URL": f"{replay.url}/v1",
                    "OPENAI_API_KEY": "demo",
                    # The replay server stands in for api.openai.com: name and price it as OpenAI.
                    "LLMLEDGER_PROVIDER_HOSTS": f"{replay.url.split('//')[1]}=openai",
                    "OTEL_SERVICE_NAME": "demo-app",
                    "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=demo",
                    "OTEL_TRACES_EXPORTER": "otlp",
                    "OTEL_METRICS_EXPORTER": "none",
                    "OTEL_LOGS_EXPORTER": "none",
                    "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
                    "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{http_port}",
                    # One span per call even where other OpenAI instrumentors are installed too.
                    "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "openai",
                }
                subprocess.run(
                    [str(BIN / "opentelemetry-instrument"), sys.executable, str(ROOT / "demo" / "app.py")],
                    env=env,
                    check=True,
                )
            _wait_for_rows(storage, expected=8)
            print("\n4. each call, from ClickHouse (llmledger sql):", flush=True)
            _llmledger("sql", *storage, CALLS_SQL)
            print("\n   llmledger report:", flush=True)
            _llmledger("report", *storage, "--since", "1d")
        finally:
            collector.send_signal(signal.SIGTERM)
            try:
                collector.wait(timeout=30)
            except subprocess.TimeoutExpired:
                collector.kill()
    return 0


def _wait_for_rows(storage: list[str], expected: int, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        done = _llmledger(
            "sql", *storage, "--format", "csv", "SELECT count() FROM llm_calls FINAL", capture_output=True
        )
        if done.returncode == 0 and done.stdout.strip().splitlines()[-1:] == [str(expected)]:
            return
        time.sleep(0.5)
    print(f"(not all {expected} calls arrived within {timeout_s:.0f}s; showing what did)", flush=True)


if __name__ == "__main__":
    sys.exit(main())
