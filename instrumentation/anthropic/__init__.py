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

The SDK's own span (``anthropic.messages.create``, on whenever a tracer provider exists) is held off for the
calls recorded here, so that each call has exactly one span, the one with the cost (see ``_native``).

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

import contextlib
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
from . import _native
from ._endpoints import ENDPOINTS, HELPER_STREAMS
from ._helpers import stream_helper_wrapper
from ._targets import Locator
from .package import _instruments

__all__ = ["AnthropicInstrumentor"]

_log = logging.getLogger(__name__)


class AnthropicInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Instruments the Anthropic Python SDK, including its Bedrock and Vertex AI clients."""

    def instrumentation_dependencies(self) -> Collection[str]:
        return _instruments

    def _instrument(self, **kwargs: Any) -> None:
        config = Config.from_env()
        telemetry = Telemetry.create(
            "llmledger.instrumentation.anthropic", kwargs.get("tracer_provider"), kwargs.get("meter_provider"), config
        )
        locate = Locator(config)
        wrapping.instrument(ENDPOINTS, telemetry, locate, adapt)
        for endpoint in HELPER_STREAMS:
            try:
                wrapper = stream_helper_wrapper(endpoint, telemetry, locate)
                wrap_function_wrapper(endpoint.module, endpoint.method, wrapper)
            except (ImportError, AttributeError):
                _log.debug("llmledger: %s.%s not in this SDK version", endpoint.module, endpoint.method)
        try:
            wrap_function_wrapper(_native.MODULE, _native.FUNCTION, _native.skip_native_span)
        except (ImportError, AttributeError):
            _log.debug("llmledger: this Anthropic SDK has no native spans to hold off")
        prices.warm()

    def _uninstrument(self, **kwargs: Any) -> None:
        wrapping.uninstrument(ENDPOINTS)
        wrapping.uninstrument(HELPER_STREAMS)
        with contextlib.suppress(ImportError, AttributeError):
            unwrap(importlib.import_module(_native.MODULE), _native.FUNCTION)
