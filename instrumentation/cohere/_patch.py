# SPDX-License-Identifier: Apache-2.0
"""Wraps the Cohere SDK: its endpoint table (imported once `cohere` is)."""

from __future__ import annotations

import inspect
from typing import Any

from .._shared import wrapping
from .._shared.config import Config
from .._shared.invocation import Invocation
from .._shared.streams import AsyncStream
from .._shared.telemetry import Telemetry
from .._shared.wrapping import Endpoint
from ._endpoints import ENDPOINTS
from ._targets import Locator


def patch(telemetry: Telemetry, config: Config) -> None:
    wrapping.instrument(ENDPOINTS, telemetry, Locator(config), _adapt)


def unpatch() -> None:
    wrapping.uninstrument(ENDPOINTS)


def _adapt(invocation: Invocation, result: Any, endpoint: Endpoint, streaming: bool) -> Any:
    """The async clients' `chat_stream` and `generate_stream` are async generator functions: called without
    `await`, they return the stream at once, which is read like any async stream."""
    if streaming and endpoint.new_reader is not None and inspect.isasyncgen(result):
        return AsyncStream(result, invocation, endpoint.new_reader())
    return wrapping.default_adapt(invocation, result, endpoint, streaming)
