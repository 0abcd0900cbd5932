# SPDX-License-Identifier: Apache-2.0
"""google-genai SDK instrumentation: every Gemini request becomes one GenAI span with exact usage and its cost.

Usage
-----
Zero code: ``opentelemetry-instrument python app.py`` (entry point ``llmledger_google_genai``). In code::

    from llmledger.instrumentation.google_genai import GoogleGenAIInstrumentor

    GoogleGenAIInstrumentor().instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)

Covers ``models.generate_content`` and ``generate_content_stream`` (one span per request, so automatic
function calling and continuation are counted in full), ``embed_content``, ``caches.create`` and
``interactions.create``, on ``client`` and ``client.aio``. Gemini API clients are ``gcp.gemini``, Vertex AI
clients ``gcp.vertex_ai``.

Usage is counted in the span contract's inclusive model: input is ``prompt_token_count`` plus
``tool_use_prompt_token_count``, cache reads are ``cached_content_token_count``, and output is
``candidates_token_count + thoughts_token_count`` with the thoughts as reasoning. Long-context prices apply to
the whole request once its input passes the model's threshold.

Configuration
-------------
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true``
    record prompts and completions (off by default).
``LLMLEDGER_PRICES_FILE=prices.yaml``
    prices that win over the bundled genai-prices snapshot.
"""

from __future__ import annotations

from .._shared.instrumentor import SdkInstrumentor
from .package import _instruments

__all__ = ["GoogleGenAIInstrumentor"]


class GoogleGenAIInstrumentor(SdkInstrumentor):
    """Instruments the google-genai SDK, for the Gemini API and Vertex AI."""

    instruments = _instruments
    sdk_module = "google.genai"
    patcher = f"{__name__}._patch"
    scope = __name__
