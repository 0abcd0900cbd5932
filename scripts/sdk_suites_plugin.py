# SPDX-License-Identifier: Apache-2.0
"""A pytest plugin that makes an SDK's own test suite run with llmledger active, as an app's would.

Loaded by `scripts/sdk_suites.py` (`-p sdk_suites_plugin`) into a run of the SDK's tests from its source
distribution. Before any test runs, llmledger's Anthropic, OpenAI and google-genai instrumentors are on, with a
tracer and a meter provider of llmledger's own (an app's provider choice for the SDK is the SDK's to keep: its
tests give the SDK theirs). When the session ends, the file `LLMLEDGER_SDK_SUITE_REPORT` names gets what llmledger
saw: how many calls it measured (its duration histogram's count) and how many spans it made itself, so that a run
in which llmledger recorded nothing is told apart from one where it changed nothing.
"""

from __future__ import annotations

import json
import os
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmledger.instrumentation.anthropic import AnthropicInstrumentor
from llmledger.instrumentation.google_genai import GoogleGenAIInstrumentor
from llmledger.instrumentation.openai import OpenAIInstrumentor

REPORT_ENV = "LLMLEDGER_SDK_SUITE_REPORT"
_INSTRUMENTORS = (AnthropicInstrumentor, OpenAIInstrumentor, GoogleGenAIInstrumentor)
_state: dict[str, Any] = {}


def pytest_configure(config: Any) -> None:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    for instrumentor in _INSTRUMENTORS:
        instrumentor().instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    _state.update(exporter=exporter, reader=reader)


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    path = os.environ.get(REPORT_ENV)
    if not path or not _state:
        return
    calls = 0
    data = _state["reader"].get_metrics_data()
    for resource in data.resource_metrics if data is not None else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name == "gen_ai.client.operation.duration":
                    calls += sum(point.count for point in metric.data.data_points)
    report = {"calls_measured": calls, "own_spans": len(_state["exporter"].get_finished_spans())}
    with open(path, "w") as out:
        json.dump(report, out)
