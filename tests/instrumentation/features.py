# SPDX-License-Identifier: Apache-2.0
"""Skipping a test on an SDK release that lacks the SDK feature the test is about.

scripts/sdk-matrix runs the tests against older releases too. A test of a call that a release does not have yet
(`chat.completions.stream` before openai promoted it from `beta`, say) is skipped there with the reason, found by
looking for the feature itself, never by comparing version numbers.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest


def needs(owner: object, attribute: str) -> None:
    """Skips the running test unless `owner` (an SDK client or resource) has `attribute`."""
    if not hasattr(owner, attribute):
        kind = type(owner)
        pytest.skip(f"this {kind.__module__.partition('.')[0]} release has no {kind.__qualname__}.{attribute}")


def needs_parameter(function: Callable[..., Any], name: str) -> None:
    """Skips the running test unless `function` (an SDK method or client constructor) takes a `name` argument."""
    if name not in inspect.signature(function).parameters:
        pytest.skip(f"this release's {function.__qualname__} takes no {name!r}")
