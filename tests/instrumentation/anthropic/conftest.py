# SPDX-License-Identifier: Apache-2.0
from __future__ import annotations

import pytest

from llmledger.instrumentation.anthropic import AnthropicInstrumentor
from tests.instrumentation.instrumenting import instrumented_fixture


@pytest.fixture(autouse=True)
def _no_native_tracing_by_default(monkeypatch):
    """The SDK's own spans are off unless a test turns them on, so each test says which case it covers."""
    monkeypatch.setenv("ANTHROPIC_OPEN_TELEMETRY", "false")


instrumented = instrumented_fixture(AnthropicInstrumentor)
