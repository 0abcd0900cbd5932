# SPDX-License-Identifier: Apache-2.0
"""Wraps the Anthropic SDK: the endpoint table, the `messages.stream()` helpers, and the SDK's own span hook.

The Bedrock and Vertex clients' `beta.messages` resources copy the first-party beta methods when the SDK is
imported, so once those are wrapped their copies are found and wrapped alike (`_shared.copies`).

An SDK that traces itself (anthropic 2) gets the hook first (`_native`), and its calls wait for the SDK's span; an
older SDK has nothing to hook, and its calls get llmledger's span as they start.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
from dataclasses import replace

from opentelemetry.instrumentation.utils import unwrap
from wrapt import wrap_function_wrapper

from .._shared import copies, wrapping
from .._shared.config import Config
from .._shared.telemetry import Telemetry
from . import _native
from ._endpoints import ENDPOINTS, HELPER_STREAMS
from ._helpers import stream_helper_wrapper
from ._targets import Locator

_log = logging.getLogger(__name__)

# Where the SDK defines the classes that copy first-party methods: its platform clients (Bedrock, Vertex, …).
_COPIES_IN = "anthropic.lib"
_wrapped_copies: list[copies.Place] = []


def patch(telemetry: Telemetry, config: Config) -> None:
    locate = Locator(config)
    try:
        wrap_function_wrapper(_native.MODULE, _native.FUNCTION, _native.share_call_span)
        endpoints, helpers = ENDPOINTS, HELPER_STREAMS
    except (ImportError, AttributeError):
        _log.debug("llmledger: this Anthropic SDK makes no spans of its own")
        endpoints, helpers = (tuple(replace(e, sdk_span=None) for e in rows) for rows in (ENDPOINTS, HELPER_STREAMS))
    wrapping.instrument(endpoints, telemetry, locate, _native.adapt)
    for endpoint in helpers:
        try:
            wrap_function_wrapper(endpoint.module, endpoint.method, stream_helper_wrapper(endpoint, telemetry, locate))
        except (ImportError, AttributeError):
            _log.debug("llmledger: %s.%s not in this SDK version", endpoint.module, endpoint.method)
    _wrapped_copies[:] = copies.wrap_copies(copies.wrapped_places(endpoints + helpers), _COPIES_IN)


def unpatch() -> None:
    copies.unwrap_copies(_wrapped_copies)
    _wrapped_copies.clear()
    wrapping.uninstrument(ENDPOINTS)
    wrapping.uninstrument(HELPER_STREAMS)
    with contextlib.suppress(ImportError, AttributeError):
        unwrap(importlib.import_module(_native.MODULE), _native.FUNCTION)
