# SPDX-License-Identifier: Apache-2.0
from __future__ import annotations

from llmledger.instrumentation.cohere import CohereInstrumentor
from tests.instrumentation.instrumenting import instrumented_fixture

instrumented = instrumented_fixture(CohereInstrumentor)
