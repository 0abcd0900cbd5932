# SPDX-License-Identifier: Apache-2.0
"""Running traced_app.py as a user would: under `opentelemetry-instrument`, against recorded OpenAI traffic,
exporting over OTLP to `endpoint` and, through the console exporter, to the test (so the test knows every span the
app made, whatever reached the other side)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from demo.cassettes import DEMO
from demo.replay_server import ReplayServer
from tests.instrumentation.zero_code import PEERS

APP = Path(__file__).with_name("traced_app.py")
BIN = Path(sys.executable).parent
LLM_CALLS = 5  # the OpenAI calls traced_app.py makes


@dataclass
class AppRun:
    trace_id: str
    spans: list[dict[str, Any]] = field(default_factory=list)  # as the console exporter printed them

    @property
    def span_ids(self) -> set[str]:
        return {span["context"]["span_id"].removeprefix("0x") for span in self.spans}

    def llm_span_ids(self) -> set[str]:
        return {
            span["context"]["span_id"].removeprefix("0x")
            for span in self.spans
            if "gen_ai.usage.input_tokens" in span.get("attributes", {})
        }


def run_traced_app(
    endpoint: str, *, protocol: str = "grpc", during_pause: Callable[[], None] | None = None, service: str = "peers-app"
) -> AppRun:
    """Run the app once; with `during_pause`, call it after the app flushed its first calls, then let it finish."""
    with ReplayServer(DEMO, successful_only=True) as replay:
        env = {
            **{key: value for key, value in os.environ.items() if not key.startswith(("OTEL_", "LLMLEDGER_"))},
            "OPENAI_BASE_URL": f"{replay.url}/v1",
            "OPENAI_API_KEY": "test",
            "LLMLEDGER_PROVIDER_HOSTS": f"{replay.url.split('//')[1]}=openai",
            "OTEL_SERVICE_NAME": service,
            "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=test",
            "OTEL_TRACES_EXPORTER": "otlp,console",
            "OTEL_METRICS_EXPORTER": "none",
            "OTEL_LOGS_EXPORTER": "none",
            "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
            "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
            "OTEL_BSP_SCHEDULE_DELAY": "200",
            "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": PEERS,
        }
        command = [str(BIN / "opentelemetry-instrument"), sys.executable, str(APP)]
        if during_pause:
            command.append("--pause")
        process = subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None and process.stderr is not None and process.stdin is not None
        stdout: list[str] = []
        reader = threading.Thread(target=lambda: stdout.append(process.stdout.read()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        errors: list[str] = []
        trace_id = ""
        for line in process.stderr:
            errors.append(line)
            if not trace_id and len(line.strip()) == 32:
                trace_id = line.strip()
            if line.strip() == "flushed" and during_pause:
                during_pause()
                process.stdin.write("\n")
                process.stdin.flush()
        process.stdin.close()
        returncode = process.wait(timeout=120)
        reader.join(timeout=30)
        assert returncode == 0, "".join(errors)
        assert replay.requests == LLM_CALLS
    return AppRun(trace_id, _console_spans("".join(stdout)))


def _console_spans(text: str) -> list[dict[str, Any]]:
    """The console exporter writes one indented JSON object per span, one after another."""
    decoder = json.JSONDecoder()
    found, position = [], 0
    while (start := text.find("{", position)) >= 0:
        value, position = decoder.raw_decode(text, start)
        found.append(value)
    return found
