# SPDX-License-Identifier: Apache-2.0
"""The public surface is the instrumentor classes; importing the package loads no SDK and no price data."""

from __future__ import annotations

import subprocess
import sys

import llmledger.instrumentation
import llmledger.instrumentation.openai


def test_exported_members():
    assert llmledger.instrumentation.__all__ == ["__version__"]
    assert llmledger.instrumentation.openai.__all__ == ["OpenAIInstrumentor"]


def test_importing_an_instrumentor_loads_neither_the_sdk_nor_prices():
    code = (
        "import sys, llmledger.instrumentation.openai; "
        "print(sorted(m for m in ('openai', 'genai_prices.data') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
