# SPDX-License-Identifier: Apache-2.0
from __future__ import annotations

import pytest

from llmledger.instrumentation.cohere import CohereInstrumentor


@pytest.fixture
def instrumented(tracer_provider, meter_provider):
    """The Cohere SDK instrumented for one test, restored afterwards."""
    instrumentor = CohereInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    yield instrumentor
    instrumentor.uninstrument()
