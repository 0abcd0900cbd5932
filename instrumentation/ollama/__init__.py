# SPDX-License-Identifier: Apache-2.0
"""Ollama SDK instrumentation: every call to a local (or hosted) Ollama server becomes one GenAI span with its
token counts, and a cost only where the user's price file gives the model one.

Usage
-----
Zero code: ``opentelemetry-instrument python app.py`` (entry point ``llmledger_ollama``). In code::

    from llmledger.instrumentation.ollama import OllamaInstrumentor

    OllamaInstrumentor().instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)

Covers ``chat``, ``generate`` (both also ``stream=True``), ``embed`` and the older ``embeddings``, on ``Client``,
``AsyncClient`` and the module-level functions (``ollama.chat(...)``), with arguments given by position or by
name.

Usage is Ollama's ``prompt_eval_count`` (input) and ``eval_count`` (output, thinking included). Ollama leaves
``prompt_eval_count`` out when the whole prompt came from its cache; the span then has no input count rather
than a made-up one. A model served by your own Ollama has no price: its spans say ``llmledger.cost.unpriced``,
never $0, unless ``LLMLEDGER_PRICES_FILE`` gives provider ``ollama`` a price for it.

Configuration
-------------
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true``
    record prompts and completions (off by default).
``LLMLEDGER_PRICES_FILE=prices.yaml``
    what your own hardware costs per million tokens, per model.
"""

from __future__ import annotations

from .._shared.instrumentor import SdkInstrumentor
from .package import _instruments

__all__ = ["OllamaInstrumentor"]


class OllamaInstrumentor(SdkInstrumentor):
    """Instruments the Ollama Python SDK."""

    instruments = _instruments
    sdk_module = "ollama"
    patcher = f"{__name__}._patch"
    scope = __name__
