# SPDX-License-Identifier: Apache-2.0
from __future__ import annotations

import pytest

from llmledger.instrumentation.anthropic import AnthropicInstrumentor


@pytest.fixture(autouse=True)
def _no_native_tracing_by_default(monkeypatch):
    """The SDK's own spans are off unless a test turns them on, so each test says which case it covers."""
    monkeypatch.setenv("ANTHROPIC_OPEN_TELEMETRY", "false")


@pytest.fixture
def instrumented(tracer_provider, meter_provider):
    """The Anthropic SDK instrumented for one test, restored afterwards."""
    instrumentor = AnthropicInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    yield instrumentor
    instrumentor.uninstrument()
