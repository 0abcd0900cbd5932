# SPDX-License-Identifier: Apache-2.0
"""Wraps the Mistral AI SDK: its endpoint table (imported once `mistralai.client` is)."""

from __future__ import annotations

from .._shared import wrapping
from .._shared.config import Config
from .._shared.telemetry import Telemetry
from ._endpoints import ENDPOINTS
from ._targets import Locator


def patch(telemetry: Telemetry, config: Config) -> None:
    wrapping.instrument(ENDPOINTS, telemetry, Locator(config))


def unpatch() -> None:
    wrapping.uninstrument(ENDPOINTS)
