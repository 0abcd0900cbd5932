# SPDX-License-Identifier: Apache-2.0
"""`messages.stream()`: a manager whose `with` block makes the request, and a helper stream over the raw one.

The helper does not call `create()`: it builds the request itself, and sends it only when the `with` block
(or `async with`) is entered. So the call is recorded from there, on the SDK's own span where it makes one
(see `_native`), and the helper's raw event stream is swapped for our stream proxy before anything reads it.
Every way the helper consumes events (iteration, `text_stream`, `get_final_message()`, `until_done()`) reads the raw
stream, so all of them feed the proxy, and the helper's `close()` closes it: the span ends exactly once, on the end of
the stream, on leaving the block, on an error, or when the helper is dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

import wrapt
from opentelemetry import context as otel_context
from opentelemetry.instrumentation.utils import is_instrumentation_enabled

from .._shared.invocation import Invocation
from .._shared.streams import AsyncStream, SyncStream
from .._shared.telemetry import Telemetry
from .._shared.wrapping import Endpoint, Locate, call_context, starter
from ._native import follow

_log = logging.getLogger(__name__)

Start = Callable[[], "tuple[Invocation, dict[str, Any]] | None"]


def stream_helper_wrapper(endpoint: Endpoint, telemetry: Telemetry, locate: Locate) -> Callable[..., Any]:
    """Wraps `Messages.stream` (sync and async resources alike: both return a manager without I/O)."""
    start = starter(endpoint, telemetry, locate)

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        manager = wrapped(*args, **kwargs)
        if not is_instrumentation_enabled():
            return manager
        begin = partial(start, instance, kwargs)
        return _AsyncManager(manager, begin, endpoint) if endpoint.is_async else _SyncManager(manager, begin, endpoint)

    return wrapper


def _hook(helper: Any, invocation: Invocation, endpoint: Endpoint) -> Any:
    """Put our proxy under the helper stream; if this SDK's helper has no raw stream, end the span unread."""
    raw = getattr(helper, "_raw_stream", None)
    if raw is None or endpoint.new_reader is None:
        invocation.finish(usage_complete=False)
        return None
    proxy = (AsyncStream if endpoint.is_async else SyncStream)(raw, invocation, endpoint.new_reader())
    helper._raw_stream = proxy
    follow(invocation, proxy)
    return proxy


class _Manager(wrapt.ObjectProxy[Any]):
    def __init__(self, manager: Any, begin: Start, endpoint: Endpoint) -> None:
        super().__init__(manager)
        self._self_begin = begin
        self._self_endpoint = endpoint
        self._self_proxy: Any = None


class _SyncManager(_Manager):
    def __enter__(self) -> Any:
        started = self._self_begin()
        if started is None:
            return self.__wrapped__.__enter__()
        invocation = started[0]
        token = otel_context.attach(call_context(invocation))
        try:
            helper = self.__wrapped__.__enter__()
        except BaseException as error:
            invocation.finish(error=error)
            raise
        finally:
            otel_context.detach(token)
        try:
            self._self_proxy = _hook(helper, invocation, self._self_endpoint)
        except Exception:
            _log.debug("llmledger: could not follow a message stream", exc_info=True)
            invocation.finish(usage_complete=False)
        return helper

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> Any:
        if self._self_proxy is not None:
            self._self_proxy.__exit__(exc_type, exc, tb)  # an error inside the block marks the span
        return self.__wrapped__.__exit__(exc_type, exc, tb)


class _AsyncManager(_Manager):
    async def __aenter__(self) -> Any:
        started = self._self_begin()
        if started is None:
            return await self.__wrapped__.__aenter__()
        invocation = started[0]
        token = otel_context.attach(call_context(invocation))
        try:
            helper = await self.__wrapped__.__aenter__()
        except BaseException as error:
            invocation.finish(error=error)
            raise
        finally:
            otel_context.detach(token)
        try:
            self._self_proxy = _hook(helper, invocation, self._self_endpoint)
        except Exception:
            _log.debug("llmledger: could not follow a message stream", exc_info=True)
            invocation.finish(usage_complete=False)
        return helper

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> Any:
        if self._self_proxy is not None:
            await self._self_proxy.__aexit__(exc_type, exc, tb)
        return await self.__wrapped__.__aexit__(exc_type, exc, tb)
