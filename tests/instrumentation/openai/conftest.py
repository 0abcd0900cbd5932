# SPDX-License-Identifier: Apache-2.0
from __future__ import annotations

import pytest

from llmledger.instrumentation.openai import OpenAIInstrumentor


@pytest.fixture
def instrumented(tracer_provider, meter_provider):
    """The OpenAI SDK instrumented for one test, restored afterwards."""
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    yield instrumentor
    instrumentor.uninstrument()
