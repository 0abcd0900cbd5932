# SPDX-License-Identifier: Apache-2.0
"""Wraps the Anthropic SDK: the endpoint table, the `messages.stream()` helpers, and the SDK's own span hook."""

from __future__ import annotations

import contextlib
import importlib
import logging

from opentelemetry.instrumentation.utils import unwrap
from wrapt import wrap_function_wrapper

from .._shared import wrapping
from .._shared.config import Config
from .._shared.raw_responses import adapt
from .._shared.telemetry import Telemetry
from . import _native
from ._endpoints import ENDPOINTS, HELPER_STREAMS
from ._helpers import stream_helper_wrapper
from ._targets import Locator

_log = logging.getLogger(__name__)


def patch(telemetry: Telemetry, config: Config) -> None:
    locate = Locator(config)
    wrapping.instrument(ENDPOINTS, telemetry, locate, adapt)
    for endpoint in HELPER_STREAMS:
        try:
            wrap_function_wrapper(endpoint.module, endpoint.method, stream_helper_wrapper(endpoint, telemetry, locate))
        except (ImportError, AttributeError):
            _log.debug("llmledger: %s.%s not in this SDK version", endpoint.module, endpoint.method)
    try:
        wrap_function_wrapper(_native.MODULE, _native.FUNCTION, _native.skip_native_span)
    except (ImportError, AttributeError):
        _log.debug("llmledger: this Anthropic SDK has no native spans to hold off")


def unpatch() -> None:
    wrapping.uninstrument(ENDPOINTS)
    wrapping.uninstrument(HELPER_STREAMS)
    with contextlib.suppress(ImportError, AttributeError):
        unwrap(importlib.import_module(_native.MODULE), _native.FUNCTION)
