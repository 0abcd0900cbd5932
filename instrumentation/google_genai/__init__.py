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

from collections.abc import Collection
from typing import Any

from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]

from .._shared import prices, wrapping
from .._shared.config import Config
from .._shared.telemetry import Telemetry
from ._endpoints import ENDPOINTS
from ._targets import Locator
from .package import _instruments

__all__ = ["GoogleGenAIInstrumentor"]


class GoogleGenAIInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Instruments the google-genai SDK, for the Gemini API and Vertex AI."""

    def instrumentation_dependencies(self) -> Collection[str]:
        return _instruments

    def _instrument(self, **kwargs: Any) -> None:
        config = Config.from_env()
        telemetry = Telemetry.create(
            "llmledger.instrumentation.google_genai",
            kwargs.get("tracer_provider"),
            kwargs.get("meter_provider"),
            config,
        )
        wrapping.instrument(ENDPOINTS, telemetry, Locator(config))
        prices.warm()

    def _uninstrument(self, **kwargs: Any) -> None:
        wrapping.uninstrument(ENDPOINTS)
