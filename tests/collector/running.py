# SPDX-License-Identifier: Apache-2.0
"""Helpers for end-to-end tests: a `llmledger collector` subprocess, rotel, and sending spans to them."""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

_LISTEN = re.compile(r"OTLP/(gRPC|HTTP) on (?:https?://)?([\d.]+):(\d+)")


@dataclass
class Collector:
    process: subprocess.Popen[str]
    grpc_port: int = 0
    http_port: int = 0
    output: list[str] = field(default_factory=list)
    queue_dir: str | None = None  # made for it by start_collector, removed by stop()

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/v1/traces"

    @property
    def grpc_endpoint(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def text(self) -> str:
        return "".join(self.output)

    def read_output(self) -> None:
        """Collect the output (on a thread), noting the ports as they are announced."""
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            found = _LISTEN.search(line)
            if found:
                setattr(self, "grpc_port" if found.group(1) == "gRPC" else "http_port", int(found.group(3)))

    def stop(self, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        time.sleep(0.1)  # let the reader thread take the last lines
        if self.queue_dir is not None:
            shutil.rmtree(self.queue_dir, ignore_errors=True)
        return self.process.returncode


def start_collector(args: Sequence[str], env: dict[str, str] | None = None, timeout: float = 60) -> Collector:
    """Start `llmledger collector ARGS --grpc-port 0 --http-port 0` and wait until it says where it listens.

    Unless ARGS name a queue or data directory, the collector gets a fresh queue directory of its own: the default
    one (in the user's data directory) would be shared by every test, and replayed into the wrong database.
    """
    command = [sys.executable, "-m", "llmledger.collector.cli", "collector", "--grpc-port", "0", "--http-port", "0"]
    queue_dir = None
    if not {"--queue-dir", "--data-dir"} & set(args):
        queue_dir = tempfile.mkdtemp(prefix="llmledger-queue-")
        command += ["--queue-dir", queue_dir]
    environment = {key: value for key, value in (env or os.environ).items() if not key.startswith("LLMLEDGER_")}
    process = subprocess.Popen(
        [*command, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=environment
    )
    collector = Collector(process, queue_dir=queue_dir)
    threading.Thread(target=collector.read_output, daemon=True).start()
    deadline = time.monotonic() + timeout
    while not (collector.grpc_port and collector.http_port):
        if time.monotonic() > deadline or process.poll() is not None:
            collector.stop(5)
            raise AssertionError("collector did not start:\n" + collector.text)
        time.sleep(0.05)
    return collector


def rotel_binary() -> Path | None:
    spec = importlib.util.find_spec("rotel")
    if spec is None or not spec.submodule_search_locations:
        return None
    binary = Path(next(iter(spec.submodule_search_locations))) / "rotel-agent"
    return binary if binary.exists() else None


def wait_for(probe: Callable[[], Any], expected: Any, timeout: float = 20) -> Any:
    """Poll `probe()` until it returns `expected` (bounded in time); returns the last value."""
    deadline = time.monotonic() + timeout
    value = probe()
    while value != expected and time.monotonic() < deadline:
        time.sleep(0.2)
        value = probe()
    return value


def to_otlp_json(request: ExportTraceServiceRequest) -> bytes:
    """OTLP/JSON as SDKs write it: protobuf JSON with hex ids."""
    document = json_format.MessageToDict(request)
    for resource_spans in document.get("resourceSpans", []):
        for scope_spans in resource_spans.get("scopeSpans", []):
            for span in scope_spans.get("spans", []):
                for item in (span, *span.get("links", [])):
                    for key in ("traceId", "spanId", "parentSpanId"):
                        if item.get(key):
                            item[key] = base64.b64decode(item[key]).hex()
    return json.dumps(document).encode()
