# SPDX-License-Identifier: Apache-2.0
"""Cohere SDK instrumentation: every call becomes one GenAI span with the usage Cohere bills and its cost in USD.

Usage
-----
Zero code: ``opentelemetry-instrument python app.py`` (entry point ``llmledger_cohere``). In code::

    from llmledger.instrumentation.cohere import CohereInstrumentor

    CohereInstrumentor().instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)

Covers the v1 API (``chat``, ``chat_stream``, ``generate``, ``generate_stream``, ``embed``, ``rerank``) and
the v2 API (``ClientV2`` and ``client.v2``: ``chat``, ``chat_stream``, ``embed``, ``rerank``), on sync and
async clients. Instrument before creating a client: the SDK binds ``chat`` to each client when it is created.

Usage is what Cohere bills (``billed_units``), which wins over its token counts (``tokens``): Cohere counts
tokens it adds itself, and does not bill them. A rerank is billed per search (``billed_units.search_units``,
recorded as ``llmledger.usage.search_units``) and priced by a ``search_unit`` entry of the price file: the
bundled prices have none, so without one it is flagged unpriced.

Configuration
-------------
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true``
    record prompts and completions (off by default).
``LLMLEDGER_PROVIDER_HOSTS=gateway.internal=cohere,...``
    name the provider behind a gateway or proxy host.
``LLMLEDGER_PRICES_FILE=prices.yaml``
    prices that win over the bundled genai-prices snapshot, and the price of a search.
"""

from __future__ import annotations

from .._shared.instrumentor import SdkInstrumentor
from .package import _instruments

__all__ = ["CohereInstrumentor"]


class CohereInstrumentor(SdkInstrumentor):
    """Instruments the Cohere Python SDK."""

    instruments = _instruments
    sdk_module = "cohere"
    patcher = f"{__name__}._patch"
    scope = __name__
