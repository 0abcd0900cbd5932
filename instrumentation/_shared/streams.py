# SPDX-License-Identifier: Apache-2.0
"""Proxies that make an SDK stream record itself, while behaving exactly like the stream.

One sync and one async proxy serve every provider: a provider supplies only a `StreamReader` that reads
its chunks. Every way a stream can end reaches one idempotent finish: exhaustion, `close()`, leaving a
`with` block, an exception while iterating, or garbage collection of a stream nobody finished. State lives
only in `_self_*` attributes, which wrapt keeps on the proxy instead of writing them to the SDK's object.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

import wrapt

from .invocation import Invocation, Response

_log = logging.getLogger(__name__)


class StreamReader(Protocol):
    """Accumulates what a provider's chunks or events say about the call."""

    usage_seen: bool

    def feed(self, chunk: Any) -> None: ...

    def response(self) -> Response: ...


class _StreamState:
    """What both proxies share: feeding chunks to the reader and finishing the invocation once.

    `on_chunk` runs for every chunk of every stream, so it does the least it can: it is `_first` for the first
    chunk (which takes the first-chunk time), then the reader's own `feed`, called with no frame in between. The
    proxies catch what it raises: a chunk that cannot be read is logged, never raised into the app. They read
    this state once a chunk, and everything else from it: an attribute of a wrapt proxy costs several times a
    plain object's.
    """

    __slots__ = ("invocation", "next", "on_chunk", "reader")

    def __init__(self, invocation: Invocation, reader: StreamReader, next_item: Callable[[], Any]) -> None:
        self.invocation = invocation
        self.reader = reader
        self.next = next_item  # the stream's `__next__` or `__anext__`, as `_next_of` found it
        self.on_chunk: Callable[[Any], None] = self._first

    def _first(self, chunk: Any) -> None:
        self.on_chunk = self.reader.feed
        self.invocation.first_chunk()
        self.reader.feed(chunk)

    def finish(self, error: BaseException | None = None) -> None:
        invocation = self.invocation
        if invocation.ended:
            return
        try:
            response = self.reader.response()
            complete = self.reader.usage_seen
        except Exception:
            _log.debug("llmledger: could not summarise a stream", exc_info=True)
            response, complete = None, False
        invocation.finish(response, error=error, usage_complete=complete)


def _next_of(stream: Any, method: str = "__next__") -> Any:
    """The fastest way to the stream's next item (`method` is `__next__` or `__anext__`).

    The OpenAI and Anthropic SDK streams' `__next__` / `__anext__` is a Python method that only forwards to the
    generator in `_iterator`; calling the generator directly saves a frame per chunk. A stream that is iterable but
    not itself an iterator (botocore's `EventStream`, whose `__iter__` is a generator over one shared event source)
    is read through the iterator that its `__iter__` / `__aiter__` returns. Anything else is called as is.
    """
    iterator = getattr(stream, "_iterator", None)
    code = getattr(getattr(type(stream), method, None), "__code__", None)
    if iterator is not None and code is not None and code.co_names == ("_iterator", method):
        return getattr(iterator, method)
    if not hasattr(type(stream), method):
        return getattr(aiter(stream) if method == "__anext__" else iter(stream), method)
    return getattr(stream, method)


class SyncStream(wrapt.ObjectProxy):  # type: ignore[misc]
    def __init__(self, stream: Any, invocation: Invocation, reader: StreamReader) -> None:
        super().__init__(stream)
        self._self_state = _StreamState(invocation, reader, _next_of(stream))

    def __iter__(self) -> SyncStream:
        return self

    def __next__(self) -> Any:
        state = self._self_state
        try:
            chunk = state.next()
        except StopIteration:
            state.finish()
            raise
        except BaseException as error:
            state.finish(error)
            raise
        try:
            state.on_chunk(chunk)
        except Exception:
            _log.debug("llmledger: could not read a stream chunk", exc_info=True)
        return chunk

    def __enter__(self) -> SyncStream:
        self.__wrapped__.__enter__()
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> Any:
        try:
            return self.__wrapped__.__exit__(exc_type, exc, tb)
        finally:
            self._self_state.finish(exc)  # an interrupt or cancellation is not a failure: see Invocation.finish

    def close(self) -> None:
        try:
            self.__wrapped__.close()
        finally:
            self._self_state.finish()

    def __del__(self) -> None:
        # Abandoned unread: record what is known, flagged incomplete, rather than leak an open span.
        state = getattr(self, "_self_state", None)
        if state is not None:
            state.finish()


class AsyncStream(wrapt.ObjectProxy):  # type: ignore[misc]
    def __init__(self, stream: Any, invocation: Invocation, reader: StreamReader) -> None:
        super().__init__(stream)
        self._self_state = _StreamState(invocation, reader, _next_of(stream, "__anext__"))

    def __aiter__(self) -> AsyncStream:
        return self

    async def __anext__(self) -> Any:
        state = self._self_state
        try:
            chunk = await state.next()
        except StopAsyncIteration:
            state.finish()
            raise
        except BaseException as error:
            state.finish(error)
            raise
        try:
            state.on_chunk(chunk)
        except Exception:
            _log.debug("llmledger: could not read a stream chunk", exc_info=True)
        return chunk

    async def __aenter__(self) -> AsyncStream:
        await self.__wrapped__.__aenter__()
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> Any:
        try:
            return await self.__wrapped__.__aexit__(exc_type, exc, tb)
        finally:
            self._self_state.finish(exc)  # an interrupt or cancellation is not a failure: see Invocation.finish

    async def close(self) -> None:
        try:
            await self.__wrapped__.close()
        finally:
            self._self_state.finish()

    def __del__(self) -> None:
        state = getattr(self, "_self_state", None)
        if state is not None:
            state.finish()
