# SPDX-License-Identifier: Apache-2.0
"""An in-process transport serving recorded response bodies to the OpenAI SDK's real httpx2 client.

Used where a test needs to shape the traffic (a cost field, a failure mid-stream, a timeout) that no
recording has; the body it starts from is always a recorded one.
"""

from __future__ import annotations

import asyncio
import gzip
import inspect
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx2
import openai

from tests.cassette_replay import interactions

CHAT_STREAM = ("openai/otel-contrib/openai-v2/test_chat_completion_streaming.yaml", 0)
CHAT = ("openai/otel-contrib/openai-v2/test_chat_completion_with_content.yaml", 0)
RESPONSES_STREAM = ("openai/openllmetry/openai/traces/test_responses/test_responses_streaming.yaml", 0)


def recorded_body(file: str, index: int) -> bytes:
    body = interactions(file)[index]["response"]["body"]["string"]
    if isinstance(body, str):
        return body.encode()
    return gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body


def recorded_json(file: str, index: int) -> dict[str, Any]:
    return json.loads(recorded_body(file, index))


def sse(body: bytes) -> httpx2.Response:
    return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body)


class _Failing(httpx2.SyncByteStream):
    """A body that delivers some bytes, then `error` is raised while reading (the connection drops, say)."""

    def __init__(self, head: bytes, error: BaseException) -> None:
        self._head = head
        self._error = error

    def __iter__(self) -> Iterator[bytes]:
        yield self._head
        raise self._error


class _Stalling(httpx2.AsyncByteStream):
    """A body that delivers some bytes, then never more: a reader waits until it is cancelled."""

    def __init__(self, head: bytes) -> None:
        self._head = head

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self._head
        await asyncio.Event().wait()


def _head(body: bytes, events: int) -> bytes:
    return b"\n\n".join(body.split(b"\n\n")[:events]) + b"\n\n"


def failing_stream(body: bytes, events_before_failure: int, error: BaseException | None = None) -> httpx2.Response:
    """The first events of a recorded stream, then `error` (a dropped connection unless given)."""
    failure = error if error is not None else httpx2.ReadError("connection reset by peer")
    return httpx2.Response(
        200, headers={"content-type": "text/event-stream"}, stream=_Failing(_head(body, events_before_failure), failure)
    )


def stalling_stream(body: bytes, events: int) -> httpx2.Response:
    """The first events of a recorded stream, then silence (async clients only)."""
    return httpx2.Response(200, headers={"content-type": "text/event-stream"}, stream=_Stalling(_head(body, events)))


Handler = Callable[[httpx2.Request], httpx2.Response]
AsyncHandler = Callable[[httpx2.Request], httpx2.Response | Awaitable[httpx2.Response]]


class Recorder:
    """Remembers the requests the SDK sent, so tests can see what went over the wire."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        return self.handler(request)

    def sent_json(self, index: int = -1) -> dict[str, Any]:
        return json.loads(self.requests[index].content)


def client(handler: Handler, base_url: str = "https://api.openai.com/v1") -> openai.OpenAI:
    return openai.OpenAI(
        api_key="test",
        base_url=base_url,
        max_retries=0,
        http_client=openai.DefaultHttpxClient(transport=httpx2.MockTransport(handler)),
    )


def async_client(handler: AsyncHandler, base_url: str = "https://api.openai.com/v1") -> openai.AsyncOpenAI:
    async def serve(request: httpx2.Request) -> httpx2.Response:
        response = handler(request)
        return await response if inspect.isawaitable(response) else response

    return openai.AsyncOpenAI(
        api_key="test",
        base_url=base_url,
        max_retries=0,
        http_client=openai.DefaultAsyncHttpxClient(transport=httpx2.MockTransport(serve)),
    )


def zero_code_client(file: str, index: int) -> str:
    """Source for an app run under `opentelemetry-instrument`: `client`, an OpenAI SDK client serving the recording."""
    payload = json.dumps(recorded_json(file, index))
    return f"""
        import httpx2, openai
        body = {payload!r}.encode()
        client = openai.OpenAI(api_key="test", max_retries=0, http_client=openai.DefaultHttpxClient(
            transport=httpx2.MockTransport(lambda request: httpx2.Response(200, content=body))))
        """


def zero_code_app() -> str:
    """Source for an app with no telemetry code, run under `opentelemetry-instrument`: a plain chat call (CHAT,
    gpt-4o-mini) and a streamed one (CHAT_STREAM, gpt-4), served recorded bodies in-process through the SDK's
    own HTTP client."""
    plain, streamed = recorded_body(*CHAT), recorded_body(*CHAT_STREAM)
    return f"""
        import httpx2, openai
        def serve(request):
            streaming = b'"stream":true' in request.content.replace(b" ", b"")
            body, kind = ({streamed!r}, "text/event-stream") if streaming else ({plain!r}, "application/json")
            return httpx2.Response(200, headers={{"content-type": kind}}, content=body)
        client = openai.OpenAI(api_key="test", max_retries=0,
            http_client=openai.DefaultHttpxClient(transport=httpx2.MockTransport(serve)))
        question = [{{"role": "user", "content": "Say this is a test"}}]
        client.chat.completions.create(model="gpt-4o-mini", messages=question)
        for _ in client.chat.completions.create(model="gpt-4", messages=question, stream=True):
            pass
        """
