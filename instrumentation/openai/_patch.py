# SPDX-License-Identifier: Apache-2.0
"""Wraps the OpenAI SDK: the endpoint table, plus the helper streams' `close()` (imported once `openai` is)."""

from __future__ import annotations

import importlib
import logging
from typing import Any

from opentelemetry.instrumentation.utils import unwrap
from wrapt import wrap_function_wrapper

from .._shared import wrapping
from .._shared.config import Config
from .._shared.raw_responses import adapt
from .._shared.telemetry import Telemetry
from ._endpoints import ENDPOINTS, HELPER_STREAMS
from ._targets import Locator

_log = logging.getLogger(__name__)


def patch(telemetry: Telemetry, config: Config) -> None:
    wrapping.instrument(ENDPOINTS, telemetry, Locator(config), adapt)
    for module, cls, is_async in HELPER_STREAMS:
        try:
            wrap_function_wrapper(module, f"{cls}.close", _close_raw_stream_async if is_async else _close_raw_stream)
        except (ImportError, AttributeError):
            _log.debug("llmledger: %s.%s not in this SDK version", module, cls)


def unpatch() -> None:
    wrapping.uninstrument(ENDPOINTS)
    for module, cls, _ in HELPER_STREAMS:
        try:
            unwrap(getattr(importlib.import_module(module), cls), "close")
        except (ImportError, AttributeError):
            continue


def _close_raw_stream(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    try:
        return wrapped(*args, **kwargs)
    finally:
        raw = getattr(instance, "_raw_stream", None)
        if isinstance(raw, wrapping.SyncStream):
            raw.close()


async def _close_raw_stream_async(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    try:
        return await wrapped(*args, **kwargs)
    finally:
        raw = getattr(instance, "_raw_stream", None)
        if isinstance(raw, wrapping.AsyncStream):
            await raw.close()
