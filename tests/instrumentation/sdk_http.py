# SPDX-License-Identifier: Apache-2.0
"""The HTTP library an SDK talks through, and in-process replies built with it.

openai 3, anthropic 1 and google-genai 3 build their clients on httpx2; their earlier releases on httpx, whose
API httpx2 keeps under another name. A reply must be built with the library of the client that receives it, so
each provider's transport asks which one its SDK uses (from the SDK's own client class: a feature, not a
version number) and builds its replies with that one. The same tests then run against either kind of release
(scripts/sdk-matrix).
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import AsyncIterator, Iterator
from types import ModuleType
from typing import Any

LIBRARIES = ("httpx2", "httpx")


def library_of(*client_classes: type) -> ModuleType:
    """The first of httpx2 and httpx that one of `client_classes` (an SDK's client classes) is built on."""
    roots = {base.__module__.partition(".")[0] for cls in client_classes for base in cls.__mro__}
    for name in LIBRARIES:
        if name in roots:
            return importlib.import_module(name)
    raise TypeError(f"none of {client_classes} is built on {' or '.join(LIBRARIES)}")


def sse(http: ModuleType, body: bytes) -> Any:
    """A whole event stream, as `http` replies it."""
    return http.Response(200, headers={"content-type": "text/event-stream"}, content=body)


def _head(body: bytes, events: int) -> bytes:
    return b"\n\n".join(body.split(b"\n\n")[:events]) + b"\n\n"


def failing_stream(http: ModuleType, body: bytes, events: int, error: BaseException | None = None) -> Any:
    """The first events of a recorded stream, then `error` while reading (a dropped connection unless given)."""
    failure = error if error is not None else http.ReadError("connection reset by peer")
    head = _head(body, events)

    def chunks() -> Iterator[bytes]:
        yield head
        raise failure

    return http.Response(200, headers={"content-type": "text/event-stream"}, content=chunks())


def stalling_stream(http: ModuleType, body: bytes, events: int) -> Any:
    """The first events of a recorded stream, then silence: a reader waits until it is cancelled (async only)."""
    head = _head(body, events)

    async def chunks() -> AsyncIterator[bytes]:
        yield head
        await asyncio.Event().wait()

    return http.Response(200, headers={"content-type": "text/event-stream"}, content=chunks())
