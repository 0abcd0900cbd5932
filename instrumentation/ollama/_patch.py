# SPDX-License-Identifier: Apache-2.0
"""Wraps the Ollama SDK (imported once `ollama` is): its endpoint table, and the module-level functions.

`ollama/__init__.py` runs `chat = _client.chat` for a default client: a bound method of the function as it was
then. Wrapping `Client.chat` afterwards leaves that binding bare, so each such function the SDK bound is bound
again to the (now wrapped) method, and once more after unwrapping; a function the app replaced is left alone.
"""

from __future__ import annotations

import sys

from .._shared import wrapping
from .._shared.config import Config
from .._shared.telemetry import Telemetry
from ._endpoints import ENDPOINTS, MODULE_FUNCTIONS
from ._targets import Locator


def patch(telemetry: Telemetry, config: Config) -> None:
    wrapping.instrument(ENDPOINTS, telemetry, Locator(config))
    _bind_module_functions()


def unpatch() -> None:
    wrapping.uninstrument(ENDPOINTS)
    _bind_module_functions()


def _bind_module_functions() -> None:
    module = sys.modules.get("ollama")
    client = getattr(module, "_client", None)
    if client is None:
        return
    for name in MODULE_FUNCTIONS:
        bound = getattr(module, name, None)
        if bound is not None and getattr(bound, "__self__", None) is client:
            setattr(module, name, getattr(client, name))
