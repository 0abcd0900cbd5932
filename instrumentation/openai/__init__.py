# SPDX-License-Identifier: Apache-2.0
"""OpenAI SDK instrumentation: every call becomes one GenAI span with exact usage and its cost in USD.

Usage
-----
Zero code: ``opentelemetry-instrument python app.py`` (entry point ``llmledger_openai``). In code::

    from llmledger.instrumentation.openai import OpenAIInstrumentor

    OpenAIInstrumentor().instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)

Covers ``chat.completions.create`` / ``parse`` / ``stream``, legacy ``completions.create``,
``embeddings.create`` and ``responses.create`` / ``parse`` / ``stream``, on sync and async clients, with
``with_raw_response`` and ``with_streaming_response``. Works for every OpenAI-compatible host (Azure OpenAI,
Groq, DeepSeek, Together, OpenRouter, vLLM, Ollama, …), named and priced by the client's base URL.

Configuration
-------------
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true``
    record prompts and completions (off by default).
``LLMLEDGER_OPENAI_INCLUDE_USAGE=false``
    do not add ``stream_options={"include_usage": true}`` to streamed calls.
``LLMLEDGER_PROVIDER_HOSTS=gateway.internal=openai,...``
    name the provider behind a gateway or proxy host.
``LLMLEDGER_PRICES_FILE=prices.yaml``
    prices that win over the bundled genai-prices snapshot.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Collection
from typing import Any

from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.instrumentation.utils import unwrap
from wrapt import wrap_function_wrapper

from .._shared import prices, wrapping
from .._shared.config import Config
from .._shared.raw_responses import adapt
from .._shared.telemetry import Telemetry
from ._endpoints import ENDPOINTS, HELPER_STREAMS
from ._targets import Locator
from .package import _instruments

__all__ = ["OpenAIInstrumentor"]

_log = logging.getLogger(__name__)


class OpenAIInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Instruments the OpenAI Python SDK (1.40 and later)."""

    def instrumentation_dependencies(self) -> Collection[str]:
        return _instruments

    def _instrument(self, **kwargs: Any) -> None:
        config = Config.from_env()
        telemetry = Telemetry.create(
            "llmledger.instrumentation.openai", kwargs.get("tracer_provider"), kwargs.get("meter_provider"), config
        )
        wrapping.instrument(ENDPOINTS, telemetry, Locator(config), adapt)
        for module, cls, is_async in HELPER_STREAMS:
            try:
                wrap_function_wrapper(
                    module, f"{cls}.close", _close_raw_stream_async if is_async else _close_raw_stream
                )
            except (ImportError, AttributeError):
                _log.debug("llmledger: %s.%s not in this SDK version", module, cls)
        prices.warm()

    def _uninstrument(self, **kwargs: Any) -> None:
        wrapping.uninstrument(ENDPOINTS)
        for module, cls, _ in HELPER_STREAMS:
            try:
                unwrap(getattr(importlib.import_module(module), cls), "close")
            except (ImportError, AttributeError):
                continue


def _close_raw_stream(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    try:
        return wrapped(*args, **kwargs)
    finally:
        raw = getattr(instance, "_raw_stream", None)
        if isinstance(raw, wrapping.SyncStream):
            raw.close()


async def _close_raw_stream_async(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    try:
        return await wrapped(*args, **kwargs)
    finally:
        raw = getattr(instance, "_raw_stream", None)
        if isinstance(raw, wrapping.AsyncStream):
            await raw.close()
