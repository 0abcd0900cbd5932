# SPDX-License-Identifier: Apache-2.0
"""Amazon Bedrock instrumentation for boto3 / botocore: every model call becomes one GenAI span with exact usage
and its cost in USD.

Usage
-----
Zero code: ``opentelemetry-instrument python app.py`` (entry point ``llmledger_bedrock``). In code::

    from llmledger.instrumentation.bedrock import BedrockInstrumentor

    BedrockInstrumentor().instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)

Covers the ``bedrock-runtime`` client's ``converse``, ``converse_stream``, ``invoke_model`` and
``invoke_model_with_response_stream``, for every model family's request and response bodies (Anthropic Claude,
Amazon Nova and Titan, Meta Llama, Mistral, Cohere, AI21, DeepSeek, OpenAI-style bodies, …). Spans are recorded
as provider ``aws.bedrock``. Calls of other AWS services pass through untouched.

Usage is what Bedrock bills: the ``x-amzn-bedrock-*-token-count`` headers of ``invoke_model``, the
``amazon-bedrock-invocationMetrics`` of a response stream's last chunk, and the ``usage`` of the Converse APIs,
each winning over the counts a model's own body reports. Bedrock's input counts leave cached tokens out, so
the span's input is input + cache reads + cache writes. A call is priced by the model id or inference profile it
named (``us.``, ``eu.``, ``apac.``, ``global.``… profiles and ARNs of them are priced as their model where
genai-prices lists no price of their own).

Configuration
-------------
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true``
    record prompts and completions (off by default).
``LLMLEDGER_PROVIDER_HOSTS=bedrock-gateway.internal=aws.bedrock,...``
    name the provider behind a custom ``endpoint_url``.
``LLMLEDGER_PRICES_FILE=prices.yaml``
    prices that win over the bundled genai-prices snapshot.
"""

from __future__ import annotations

from .._shared.instrumentor import SdkInstrumentor
from .package import _instruments

__all__ = ["BedrockInstrumentor"]


class BedrockInstrumentor(SdkInstrumentor):
    """Instruments botocore's (and so boto3's) Amazon Bedrock Runtime client."""

    instruments = _instruments
    sdk_module = "botocore"
    patcher = f"{__name__}._patch"
    scope = __name__
