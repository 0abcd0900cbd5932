# SPDX-License-Identifier: Apache-2.0
"""An in-process transport serving recorded response bodies to the OpenAI SDK's real HTTP client.

Used where a test needs to shape the traffic (a cost field, a failure mid-stream, a timeout) that no
recording has; the body it starts from is always a recorded one. Replies are built with the HTTP library the
SDK's client uses (`http`: httpx2 or httpx, see tests/instrumentation/sdk_http.py).
"""

from __future__ import annotations

import gzip
import inspect
import json
from collections.abc import Callable
from typing import Any

import openai

from tests.cassette_replay import interactions
from tests.instrumentation import sdk_http

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


http = sdk_http.library_of(openai.DefaultHttpxClient)  # httpx2 from openai 3 on, httpx before


def sse(body: bytes) -> Any:
    return sdk_http.sse(http, body)


def failing_stream(body: bytes, events_before_failure: int, error: BaseException | None = None) -> Any:
    """The first events of a recorded stream, then `error` (a dropped connection unless given)."""
    return sdk_http.failing_stream(http, body, events_before_failure, error)


def stalling_stream(body: bytes, events: int) -> Any:
    """The first events of a recorded stream, then silence (async clients only)."""
    return sdk_http.stalling_stream(http, body, events)


Handler = Callable[[Any], Any]  # an `http.Request` to an `http.Response`
AsyncHandler = Callable[[Any], Any]  # the same, or to an awaitable of one


class Recorder:
    """Remembers the requests the SDK sent, so tests can see what went over the wire."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[Any] = []

    def __call__(self, request: Any) -> Any:
        self.requests.append(request)
        return self.handler(request)

    def sent_json(self, index: int = -1) -> dict[str, Any]:
        return json.loads(self.requests[index].content)


def client(handler: Handler, base_url: str = "https://api.openai.com/v1") -> openai.OpenAI:
    return openai.OpenAI(
        api_key="test",
        base_url=base_url,
        max_retries=0,
        http_client=openai.DefaultHttpxClient(transport=http.MockTransport(handler)),
    )


def async_client(handler: AsyncHandler, base_url: str = "https://api.openai.com/v1") -> openai.AsyncOpenAI:
    async def serve(request: Any) -> Any:
        response = handler(request)
        return await response if inspect.isawaitable(response) else response

    return openai.AsyncOpenAI(
        api_key="test",
        base_url=base_url,
        max_retries=0,
        http_client=openai.DefaultAsyncHttpxClient(transport=http.MockTransport(serve)),
    )


def zero_code_client(file: str, index: int) -> str:
    """Source for an app run under `opentelemetry-instrument`: `client`, an OpenAI SDK client serving the recording."""
    payload = json.dumps(recorded_json(file, index))
    return f"""
        import openai, {http.__name__} as http
        body = {payload!r}.encode()
        client = openai.OpenAI(api_key="test", max_retries=0, http_client=openai.DefaultHttpxClient(
            transport=http.MockTransport(lambda request: http.Response(200, content=body))))
        """


def zero_code_app() -> str:
    """Source for an app with no telemetry code, run under `opentelemetry-instrument`: a plain chat call (CHAT,
    gpt-4o-mini) and a streamed one (CHAT_STREAM, gpt-4), served recorded bodies in-process through the SDK's
    own HTTP client."""
    plain, streamed = recorded_body(*CHAT), recorded_body(*CHAT_STREAM)
    return f"""
        import openai, {http.__name__} as http
        def serve(request):
            streaming = b'"stream":true' in request.content.replace(b" ", b"")
            body, kind = ({streamed!r}, "text/event-stream") if streaming else ({plain!r}, "application/json")
            return http.Response(200, headers={{"content-type": kind}}, content=body)
        client = openai.OpenAI(api_key="test", max_retries=0,
            http_client=openai.DefaultHttpxClient(transport=http.MockTransport(serve)))
        question = [{{"role": "user", "content": "Say this is a test"}}]
        client.chat.completions.create(model="gpt-4o-mini", messages=question)
        for _ in client.chat.completions.create(model="gpt-4", messages=question, stream=True):
            pass
        """
