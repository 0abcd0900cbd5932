# SPDX-License-Identifier: Apache-2.0
"""An in-process transport serving recorded response bodies to the OpenAI SDK's real httpx2 client.

Used where a test needs to shape the traffic (a cost field, a failure mid-stream, a timeout) that no
recording has; the body it starts from is always a recorded one.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterator
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
    """A body that delivers some bytes, then the connection drops."""

    def __init__(self, head: bytes) -> None:
        self._head = head

    def __iter__(self) -> Iterator[bytes]:
        yield self._head
        raise httpx2.ReadError("connection reset by peer")


def failing_stream(body: bytes, events_before_failure: int) -> httpx2.Response:
    head = b"\n\n".join(body.split(b"\n\n")[:events_before_failure]) + b"\n\n"
    return httpx2.Response(200, headers={"content-type": "text/event-stream"}, stream=_Failing(head))


Handler = Callable[[httpx2.Request], httpx2.Response]


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


def async_client(handler: Handler, base_url: str = "https://api.openai.com/v1") -> openai.AsyncOpenAI:
    async def serve(request: httpx2.Request) -> httpx2.Response:
        return handler(request)

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
