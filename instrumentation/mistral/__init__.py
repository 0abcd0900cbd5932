# SPDX-License-Identifier: Apache-2.0
"""Mistral AI SDK (`mistralai`) instrumentation: every call becomes one GenAI span with exact usage and its cost.

Usage
-----
Zero code: ``opentelemetry-instrument python app.py`` (entry point ``llmledger_mistral``). In code::

    from llmledger.instrumentation.mistral import MistralInstrumentor

    MistralInstrumentor().instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)

Covers ``chat.complete`` and ``chat.stream`` (and ``chat.parse`` / ``parse_stream``, which call them),
``fim.complete`` and ``fim.stream`` (fill-in-the-middle), and ``embeddings.create``, each also ``_async``.
The provider is ``mistral_ai``, priced at Mistral's rates. Usage is ``prompt_tokens`` (cached tokens included,
``prompt_tokens_details.cached_tokens`` priced as cache reads) and ``completion_tokens``; a stream reports it on
its last chunk.

The SDK is ``mistralai`` 2.0 or later, whose client lives in ``mistralai.client``: that is the module whose
import patches it. (``mistralai`` 1.x kept it at the top level and is not instrumented.)

Configuration
-------------
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true``
    record prompts and completions (off by default).
``LLMLEDGER_PROVIDER_HOSTS=gateway.internal=mistral_ai,...``
    name the provider behind a gateway or proxy host.
``LLMLEDGER_PRICES_FILE=prices.yaml``
    prices that win over the bundled genai-prices snapshot.
"""

from __future__ import annotations

from .._shared.instrumentor import SdkInstrumentor
from .package import _instruments

__all__ = ["MistralInstrumentor"]


class MistralInstrumentor(SdkInstrumentor):
    """Instruments the Mistral AI Python SDK."""

    instruments = _instruments
    sdk_module = "mistralai.client"  # `mistralai` itself is a namespace package, whose import runs no hook
    patcher = f"{__name__}._patch"
    scope = __name__
