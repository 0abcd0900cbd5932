# SPDX-License-Identifier: Apache-2.0
"""`with_raw_response` and `with_streaming_response`: the call returns an HTTP response object, not a model.

Shared by the SDKs that Stainless generates (OpenAI, Anthropic), whose response classes have the same names
and `parse()`.

The parsed body (or stream) is what carries usage, so the span finishes when the app parses it; a non-streamed
legacy raw response already holds its body, and is parsed at once (the SDK caches the result, so the app's own
`parse()` costs nothing more). A response closed, or dropped, without being parsed ends the span incomplete.
"""

from __future__ import annotations

from typing import Any

import wrapt

from .invocation import Invocation
from .streams import AsyncStream, SyncStream
from .wrapping import Endpoint, default_adapt


def adapt(invocation: Invocation, result: Any, endpoint: Endpoint, streaming: bool) -> Any:
    kind = type(result).__name__
    if kind == "LegacyAPIResponse":
        if not streaming:
            invocation.finish(endpoint.read_response(result.parse()))
            return result
        return _SyncRaw(result, invocation, endpoint)
    if kind == "APIResponse":
        return _SyncRaw(result, invocation, endpoint)
    if kind == "AsyncAPIResponse":
        return _AsyncRaw(result, invocation, endpoint)
    return default_adapt(invocation, result, endpoint, streaming)


class _RawBase(wrapt.ObjectProxy):  # type: ignore[misc]
    def __init__(self, response: Any, invocation: Invocation, endpoint: Endpoint) -> None:
        super().__init__(response)
        self._self_invocation = invocation
        self._self_endpoint = endpoint
        self._self_parsed: dict[Any, Any] = {}

    def _self_instrument(self, key: Any, parsed: Any) -> Any:
        if key in self._self_parsed:
            return self._self_parsed[key]
        invocation = self._self_invocation
        if invocation.ended:
            return parsed
        endpoint = self._self_endpoint
        if invocation.request.streaming and endpoint.new_reader is not None:
            proxy = AsyncStream if endpoint.is_async else SyncStream
            parsed = proxy(parsed, invocation, endpoint.new_reader())
        else:
            invocation.finish(endpoint.read_response(parsed))
        self._self_parsed[key] = parsed
        return parsed

    def _self_abandon(self) -> None:
        if not self._self_invocation.ended and not self._self_parsed:
            self._self_invocation.finish(usage_complete=False)

    def __del__(self) -> None:
        if getattr(self, "_self_invocation", None) is not None:
            self._self_abandon()


class _SyncRaw(_RawBase):
    def parse(self, *args: Any, **kwargs: Any) -> Any:
        return self._self_instrument(kwargs.get("to"), self.__wrapped__.parse(*args, **kwargs))

    def close(self) -> None:
        try:
            self.__wrapped__.close()
        finally:
            self._self_abandon()


class _AsyncRaw(_RawBase):
    async def parse(self, *args: Any, **kwargs: Any) -> Any:
        return self._self_instrument(kwargs.get("to"), await self.__wrapped__.parse(*args, **kwargs))

    async def close(self) -> None:
        try:
            await self.__wrapped__.close()
        finally:
            self._self_abandon()
