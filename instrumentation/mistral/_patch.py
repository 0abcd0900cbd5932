# SPDX-License-Identifier: Apache-2.0
"""Wraps the Mistral AI SDK (imported once `mistralai.client` is): its endpoint table, and its own tracing.

mistralai starts a GenAI span of its own for each request when tracing is on for it: always when a global
tracer provider exists in mistralai 2.x, when `MISTRAL_SDK_TELEMETRY` (or the client's `telemetry`) asks for it
in 3.x. Two spans for one call would count its tokens twice, and the SDK's has no cost. So for the calls
llmledger records, the SDK's span is held off: its tracing hook asks `get_traced_request_and_span` for a span
and gets none, as when its tracing is off. Every other call keeps the SDK's span, and uninstrumenting restores
it.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
from typing import Any

from opentelemetry.instrumentation.utils import unwrap
from wrapt import wrap_function_wrapper

from .._shared import wrapping
from .._shared.config import Config
from .._shared.telemetry import Telemetry
from ._endpoints import ENDPOINTS
from ._targets import Locator

_log = logging.getLogger(__name__)

_NATIVE_TRACING = "mistralai.client._hooks.tracing"  # the hook module, which imports the function by name
_NATIVE_SPAN = "get_traced_request_and_span"
_NATIVE_PARAMETERS = ("tracing_enabled", "tracer", "span", "operation_id", "request")


def patch(telemetry: Telemetry, config: Config) -> None:
    wrapping.instrument(ENDPOINTS, telemetry, Locator(config))
    try:
        wrap_function_wrapper(_NATIVE_TRACING, _NATIVE_SPAN, _hold_off_native_span)
    except (ImportError, AttributeError):
        _log.debug("llmledger: this mistralai has no tracing hook of its own")


def unpatch() -> None:
    wrapping.uninstrument(ENDPOINTS)
    with contextlib.suppress(ImportError, AttributeError):  # a release without the hook: nothing was wrapped
        unwrap(importlib.import_module(_NATIVE_TRACING), _NATIVE_SPAN)


def _hold_off_native_span(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The SDK's span for a request, unless llmledger records the call sending it: then the request as it is and
    the span it came with (none), which the SDK's hooks take as a request not traced."""
    if wrapping.recording() is None:
        return wrapped(*args, **kwargs)
    called = {**dict(zip(_NATIVE_PARAMETERS, args, strict=False)), **kwargs}
    return called["request"], called["span"]
