# SPDX-License-Identifier: Apache-2.0
"""Anthropic SDK instrumentation: every Messages call becomes one GenAI span with exact usage and its cost in USD.

Usage
-----
Zero code: ``opentelemetry-instrument python app.py`` (entry point ``llmledger_anthropic``). In code::

    from llmledger.instrumentation.anthropic import AnthropicInstrumentor

    AnthropicInstrumentor().instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)

Covers ``messages.create`` (also ``stream=True``), ``messages.parse``, the ``messages.stream()`` helper
(iteration, ``text_stream``, ``get_final_message()``), and ``messages.count_tokens`` (a span with the count and
no cost), with their ``beta.messages`` twins, on sync and async clients, with ``with_raw_response`` and
``with_streaming_response``. ``AnthropicBedrock`` and ``AnthropicVertex`` clients are recorded as
``aws.bedrock`` and ``gcp.vertex_ai`` and priced at that platform's price.

Usage is counted in the span contract's inclusive model: input is ``input_tokens + cache_read_input_tokens +
cache_creation_input_tokens``, one-hour cache writes are priced apart from five-minute ones, and thinking
tokens (where reported) are the reasoning part of the output.

Each call has exactly one span, the one with the cost: where the SDK traces the call itself (anthropic 2, its
``anthropic.messages.create`` span), that span, which keeps the SDK's parent, tracer provider and trace-context
propagation; where it does not, llmledger's own (see ``_native``).

Configuration
-------------
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true``
    record prompts and completions (off by default).
``LLMLEDGER_PROVIDER_HOSTS=gateway.internal=anthropic,...``
    name the provider behind a gateway or proxy host.
``LLMLEDGER_PRICES_FILE=prices.yaml``
    prices that win over the bundled genai-prices snapshot.
"""

from __future__ import annotations

from .._shared.instrumentor import SdkInstrumentor
from .package import _instruments

__all__ = ["AnthropicInstrumentor"]


class AnthropicInstrumentor(SdkInstrumentor):
    """Instruments the Anthropic Python SDK, including its Bedrock and Vertex AI clients."""

    instruments = _instruments
    sdk_module = "anthropic"
    patcher = f"{__name__}._patch"
    scope = __name__
