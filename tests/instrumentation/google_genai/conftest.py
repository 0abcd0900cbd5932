# SPDX-License-Identifier: Apache-2.0
from __future__ import annotations

import pytest

from llmledger.instrumentation.google_genai import GoogleGenAIInstrumentor


@pytest.fixture
def instrumented(tracer_provider, meter_provider):
    """The google-genai SDK instrumented for one test, restored afterwards."""
    instrumentor = GoogleGenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    yield instrumentor
    instrumentor.uninstrument()
