# SPDX-License-Identifier: Apache-2.0
from __future__ import annotations

from llmledger.instrumentation.ollama import OllamaInstrumentor
from tests.instrumentation.instrumenting import instrumented_fixture

instrumented = instrumented_fixture(OllamaInstrumentor)
