# SPDX-License-Identifier: Apache-2.0
"""What an app sees from an SDK call is the same with llmledger as without.

Which exception an SDK raises for a given failure changes between its releases (anthropic 2.x wraps a read
error mid-stream in `APIConnectionError`; older releases let the HTTP library's `ReadError` through). A test of
a failure therefore runs the same call uninstrumented first and compares, instead of naming the class one
release happens to raise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]

T = TypeVar("T")


@dataclass(frozen=True)
class Raised:
    """An exception as an app can tell it apart: its class, its arguments, and what it was raised from."""

    type: type[BaseException]
    args: tuple[Any, ...]
    cause: Raised | None

    @classmethod
    def of(cls, error: BaseException) -> Raised:
        cause = error.__cause__
        return cls(type(error), error.args, cls.of(cause) if cause is not None else None)


def raised_by(call: Callable[[], object]) -> Raised:
    """What `call` raised; the test fails if it raised nothing."""
    with pytest.raises(BaseException) as raised:
        call()
    return Raised.of(raised.value)


def without_and_with(instrumentor: BaseInstrumentor, call: Callable[[], T], **providers: Any) -> tuple[T, T]:
    """`call()` run uninstrumented, then instrumented by `instrumentor` (given `providers`, e.g. tracer_provider),
    which is uninstrumented again afterwards."""
    without = call()
    instrumentor.instrument(**providers)
    try:
        return without, call()
    finally:
        instrumentor.uninstrument()
