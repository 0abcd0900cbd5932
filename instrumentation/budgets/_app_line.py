# SPDX-License-Identifier: Apache-2.0
"""Warnings that point at the app's line that made the instrumented call.

Between that line and the budget check lie frames of llmledger (the wrapper, the span lifecycle), of wrapt, and of
the SDK itself, as many as the way the call was made needs: ``create()`` directly, awaited, through
``with_raw_response`` or a stream helper that calls ``create()`` for the app. No fixed ``stacklevel`` fits all of
them, so the level is found by walking the stack to the first frame outside those packages.
"""

from __future__ import annotations

import sys
import warnings
from types import FrameType


def warn(message: str, category: type[Warning]) -> None:
    """`warnings.warn` at the first frame, counting out from the caller, of code that is not llmledger's, wrapt's
    or an instrumented SDK's."""
    libraries = _libraries()
    frame: FrameType | None = sys._getframe(1)
    level = 2  # `warnings.warn(stacklevel=2)` names the caller of this function: `frame`
    while frame is not None and _inside(frame, libraries):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)


def _libraries() -> tuple[str, ...]:
    """The packages whose frames are not the app's: llmledger, wrapt, and each SDK an instrumentor here wraps."""
    from .._shared.instrumentor import SdkInstrumentor

    return ("llmledger", "wrapt", *(instrumentor.sdk_module for instrumentor in SdkInstrumentor.__subclasses__()))


def _inside(frame: FrameType, packages: tuple[str, ...]) -> bool:
    module = frame.f_globals.get("__name__")
    if not isinstance(module, str):
        return False
    return any(module == package or module.startswith(package + ".") for package in packages)
