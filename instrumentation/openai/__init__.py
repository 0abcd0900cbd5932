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
``LLMLEDGER_OPENAI_INCLUDE_USAGE=true|false``
    streamed calls get ``stream_options={"include_usage": true}`` on every host but those known to refuse it
    (``_targets.REFUSES_STREAM_OPTIONS``); ``true`` sends it to those too, ``false`` to none.
``LLMLEDGER_PROVIDER_HOSTS=gateway.internal=openai,...``
    name the provider behind a gateway or proxy host.
``LLMLEDGER_PRICES_FILE=prices.yaml``
    prices that win over the bundled genai-prices snapshot.
"""

from __future__ import annotations

from .._shared.instrumentor import SdkInstrumentor
from .package import _instruments

__all__ = ["OpenAIInstrumentor"]


class OpenAIInstrumentor(SdkInstrumentor):
    """Instruments the OpenAI Python SDK."""

    instruments = _instruments
    sdk_module = "openai"
    patcher = f"{__name__}._patch"
    scope = __name__
