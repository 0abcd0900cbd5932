# SPDX-License-Identifier: Apache-2.0
"""Who and what a call is for: user, session, feature, tenant and custom keys on every LLM span beneath.

Usage
-----
::

    import llmledger

    with llmledger.attributes(user_id="u-42", feature="search", tenant="acme"):
        client.chat.completions.create(...)          # the span carries llmledger.user_id, .feature, .tenant

    @llmledger.attributes(feature="summarise")     # sync and async functions alike
    async def summarise(text: str) -> str: ...

Values live in a ``contextvars.ContextVar``: nesting merges (the inner value wins) and leaving the block
restores the outer values. asyncio tasks copy the context when they are created, so they inherit it; a thread
started by hand or a ``ThreadPoolExecutor`` worker does not; submit ``llmledger.bind(fn)`` (or run under
``contextvars.copy_context().run``) to carry it over.

OTel baggage keys ``llmledger.user_id``, ``llmledger.session_id``, ``llmledger.feature``, ``llmledger.tenant``
and ``llmledger.custom.<key>`` count too, so attribution set upstream travels across services; values given to
``attributes()`` win over baggage.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
from collections.abc import Callable, Mapping
from contextvars import ContextVar, Token
from types import MappingProxyType, TracebackType
from typing import Any, ParamSpec, TypeVar

from opentelemetry import baggage
from opentelemetry.util.types import AttributeValue

from llmledger._core import attributes as attr

__all__ = ["attributes", "bind", "current"]

P = ParamSpec("P")
R = TypeVar("R")

_EMPTY: Mapping[str, AttributeValue] = MappingProxyType({})
# Span attribute name → value; replaced, never mutated, so a copied context never sees a later change.
_CURRENT: ContextVar[Mapping[str, AttributeValue]] = ContextVar("llmledger_attributes", default=_EMPTY)
_NAMED = {"user_id": attr.USER_ID, "session_id": attr.SESSION_ID, "feature": attr.FEATURE, "tenant": attr.TENANT}


class attributes:
    """Attribute the LLM calls made inside a ``with`` block or a decorated function.

    ``None`` leaves a value as the enclosing context has it. Custom values must be str, bool, int or float
    (others are turned into text) and land on spans as ``llmledger.custom.<key>``.
    """

    __slots__ = ("_tokens", "_values")

    def __init__(
        self,
        user_id: str | None = None,
        session_id: str | None = None,
        feature: str | None = None,
        tenant: str | None = None,
        **custom: Any,
    ) -> None:
        values: dict[str, AttributeValue] = {}
        for name, value in (("user_id", user_id), ("session_id", session_id), ("feature", feature), ("tenant", tenant)):
            if value is not None:
                values[_NAMED[name]] = str(value)
        for key, value in custom.items():
            if value is not None:
                values[attr.CUSTOM_PREFIX + key] = value if isinstance(value, str | bool | int | float) else str(value)
        self._values = values
        self._tokens: list[Token[Mapping[str, AttributeValue]]] = []

    def __enter__(self) -> attributes:
        self._tokens.append(_CURRENT.set(MappingProxyType({**_CURRENT.get(), **self._values})))
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        _CURRENT.reset(self._tokens.pop())

    def __call__(self, func: Callable[P, R]) -> Callable[P, R]:
        # Each call enters its own copy, so one decorated function can run in many threads and tasks at once.
        values = self._values
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def run_async(*args: P.args, **kwargs: P.kwargs) -> Any:
                token = _CURRENT.set(MappingProxyType({**_CURRENT.get(), **values}))
                try:
                    return await func(*args, **kwargs)
                finally:
                    _CURRENT.reset(token)

            return run_async  # type: ignore[return-value]

        @functools.wraps(func)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            token = _CURRENT.set(MappingProxyType({**_CURRENT.get(), **values}))
            try:
                return func(*args, **kwargs)
            finally:
                _CURRENT.reset(token)

        return run


def current() -> Mapping[str, AttributeValue]:
    """The attribution in force here, as span attributes: baggage first, ``attributes()`` over it.

    Read on every instrumented call, so without baggage it is the context's own mapping, not a copy: read it,
    never change it.
    """
    explicit = _CURRENT.get()
    carried = baggage.get_all()
    if not carried:
        return explicit
    merged: dict[str, AttributeValue] = {
        key: str(value) for key, value in carried.items() if key in _BAGGAGE_KEYS or key.startswith(attr.CUSTOM_PREFIX)
    }
    merged.update(explicit)
    return merged


def bind(func: Callable[P, R]) -> Callable[P, R]:
    """``func`` bound to the current context (attribution, OTel context and baggage), for another thread.

    ``executor.submit(llmledger.bind(work), item)``: each call runs in a fresh copy of the context captured
    here, so the bound function may run in several threads at once.
    """
    captured = contextvars.copy_context()

    @functools.wraps(func)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        return captured.copy().run(func, *args, **kwargs)

    return run


_BAGGAGE_KEYS = frozenset(_NAMED.values())
