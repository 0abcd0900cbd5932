# SPDX-License-Identifier: Apache-2.0
from __future__ import annotations

import pytest

from llmledger.instrumentation.mistral import MistralInstrumentor


@pytest.fixture
def instrumented(tracer_provider, meter_provider):
    """The mistralai SDK instrumented for one test, restored afterwards."""
    instrumentor = MistralInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    yield instrumentor
    instrumentor.uninstrument()
