# SPDX-License-Identifier: Apache-2.0
"""Cohere clients, sync and async, v1 and v2, whose real HTTP client (httpx) is served in-process.

The SDK takes an `httpx_client`; each test answers its requests with recorded bodies or with failures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx

from tests.cassette_replay import interactions
from tests.instrumentation.cohere.sdk_calls import API, client_class
from tests.instrumentation.openai.transport import recorded_body

_RECORDED = "cohere/openllmetry/cohere"
CHAT = (f"{_RECORDED}/test_chat/test_cohere_chat_legacy.yaml", 0)  # v1, command: billed 58 in / 119 out
CHAT_STREAM = (f"{_RECORDED}/test_chat/test_cohere_chat_legacy_with_streaming.yaml", 0)  # billed 7 / 115
CHAT_V2 = (f"{_RECORDED}/test_chat/test_cohere_v2_chat_legacy.yaml", 0)  # command: billed 7 / 88
CHAT_V2_STREAM = (f"{_RECORDED}/test_chat/test_cohere_v2_chat_legacy_with_streaming.yaml", 0)  # billed 7 / 109
TOOLS_V2 = (f"{_RECORDED}/test_chat/test_cohere_v2_chat_legacy_with_tool_calls_and_history.yaml", 0)  # command-r
TOOLS_V2_R7B = (  # command-r7b-12-2024: billed 62 in / 38 out
    f"{_RECORDED}/test_chat/test_cohere_v2_chat_legacy_with_tool_calls_and_history_async.yaml",
    0,
)
RERANK_V2 = (f"{_RECORDED}/test_rerank/test_cohere_v2_rerank_legacy.yaml", 0)  # rerank-english-v3.0: 1 search
EMBED_V2 = (f"{_RECORDED}/test_embed/test_cohere_v2_embed_legacy.yaml", 0)  # embed-english-light-v3.0: 208 in
MESSAGES = [{"role": "user", "content": "Tell me a joke, pirate style"}]

Handler = Callable[[httpx.Request], httpx.Response]


def interactions_body(recorded: tuple[str, int]) -> str:
    """The JSON body of a recorded request."""
    body = interactions(recorded[0])[recorded[1]]["request"]["body"]
    return body if isinstance(body, str) else body.decode()


def reply(recorded: tuple[str, int], content_type: str = "application/json") -> Handler:
    body = recorded_body(*recorded)
    return lambda request: httpx.Response(200, headers={"content-type": content_type}, content=body)


def client(handler: Handler, v2: bool = False) -> Any:
    cls = client_class(v2, asynchronous=False)
    return cls(api_key="test", base_url=API, httpx_client=httpx.Client(transport=httpx.MockTransport(handler)))


def async_client(handler: Handler, v2: bool = False) -> Any:
    async def serve(request: httpx.Request) -> httpx.Response:
        return handler(request)

    cls = client_class(v2, asynchronous=True)
    return cls(api_key="test", base_url=API, httpx_client=httpx.AsyncClient(transport=httpx.MockTransport(serve)))


def failing_stream(recorded: tuple[str, int], lines_before_failure: int, content_type: str) -> Handler:
    """The first lines of a recorded stream, then a dropped connection."""
    head = b"\n".join(recorded_body(*recorded).split(b"\n")[:lines_before_failure]) + b"\n"

    def chunks() -> Iterator[bytes]:
        yield head
        raise httpx.ReadError("connection reset by peer")

    return lambda request: httpx.Response(200, headers={"content-type": content_type}, content=chunks())


def zero_code_app() -> str:
    """Source for an app with no telemetry code, run under `opentelemetry-instrument`: a v1 `chat` (CHAT) and
    `chat_stream` (CHAT_STREAM), served recorded bodies in-process through the SDK's own HTTP client."""
    plain, streamed = recorded_body(*CHAT), recorded_body(*CHAT_STREAM)
    return f"""
        import cohere, httpx
        def serve(request):
            streaming = b'"stream":true' in request.content.replace(b" ", b"")
            body = {streamed!r} if streaming else {plain!r}
            return httpx.Response(200, headers={{"content-type": "application/json"}}, content=body)
        client = cohere.Client(api_key="test", httpx_client=httpx.Client(transport=httpx.MockTransport(serve)))
        client.chat(model="command", message="Tell me a joke, pirate style")
        for _ in client.chat_stream(model="command", message="Tell me a joke, pirate style"):
            pass
        """
