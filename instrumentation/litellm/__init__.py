# SPDX-License-Identifier: Apache-2.0
"""LiteLLM instrumentation: every call LiteLLM makes, to whichever provider it routes it, becomes one GenAI span
with the provider's token counts and its cost.

Usage
-----
Zero code: ``opentelemetry-instrument python app.py`` (entry point ``llmledger_litellm``). In code::

    from llmledger.instrumentation.litellm import LiteLLMInstrumentor

    LiteLLMInstrumentor().instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)

Covers ``litellm.completion``, ``acompletion``, ``text_completion``, ``atext_completion``, ``embedding`` and
``aembedding``, streamed or not. LiteLLM reaches some providers through their SDKs and most with its own HTTP
client, often not through the SDK methods llmledger wraps (it calls ``client.post("/chat/completions")`` on an
OpenAI client): the call is recorded here, once, and an llmledger SDK instrumentation the call passes through
underneath records nothing of its own (one call, one span).

The provider is LiteLLM's own routing (``anthropic/claude-…``, ``custom_llm_provider``) in the GenAI semantic
conventions' names, the usage is LiteLLM's response's (``prompt_tokens`` with its cached part, Anthropic's cache
writes, reasoning), priced as for the provider's own SDK. Streams ask for usage on their last chunk
(``stream_options={"include_usage": true}``) unless the caller chose, as the OpenAI instrumentation does
(``LLMLEDGER_OPENAI_INCLUDE_USAGE`` applies here too).

LiteLLM's own ``callbacks=["otel"]`` spans can run beside these: they carry the same response id, and the
collector keeps one row per call (docs/frameworks.md).
"""

from __future__ import annotations

from .._shared.instrumentor import SdkInstrumentor
from .package import _instruments

__all__ = ["LiteLLMInstrumentor"]


class LiteLLMInstrumentor(SdkInstrumentor):
    """Instruments LiteLLM's completion, text completion and embedding functions."""

    instruments = _instruments
    sdk_module = "litellm"
    patcher = f"{__name__}._patch"
    scope = __name__
