# SPDX-License-Identifier: Apache-2.0
"""`mistralai` clients whose real HTTP clients, sync and async, are served in-process.

`Mistral(client=…, async_client=…)` takes the clients it sends through, of the HTTP library the SDK is built on
(`http`: httpx2 from mistralai 3 on, httpx before); each test answers with recorded bodies or with failures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from mistralai.client import Mistral
from mistralai.client import sdk as _sdk

from tests.instrumentation.openai.transport import recorded_body

__all__ = ["recorded_body"]

_RECORDED = "mistral/openllmetry/mistralai"
CHAT = (f"{_RECORDED}/test_chat/test_mistralai_chat_legacy.yaml", 0)  # mistral-tiny: 11 in, 96 out
CHAT_STREAM = (f"{_RECORDED}/test_chat/test_mistralai_async_streaming_chat_legacy.yaml", 0)  # 11 in, 80 out
EMBED = (f"{_RECORDED}/test_embeddings/test_mistral_async_embeddings_legacy.yaml", 0)  # mistral-embed: 21 in
http = _sdk.httpx  # the library the SDK imports (as `httpx`, whichever it is)
MESSAGES = [{"role": "user", "content": "Tell me a joke about OpenTelemetry"}]

Handler = Callable[[Any], Any]  # an `http.Request` to an `http.Response`


def reply(recorded: tuple[str, int], content_type: str = "application/json") -> Handler:
    body = recorded_body(*recorded)
    return lambda request: http.Response(200, headers={"content-type": content_type}, content=body)


def sse(recorded: tuple[str, int]) -> Handler:
    return reply(recorded, "text/event-stream")


def client(handler: Handler) -> Mistral:
    async def serve(request: Any) -> Any:
        return handler(request)

    return Mistral(
        api_key="test",
        client=http.Client(transport=http.MockTransport(handler)),
        async_client=http.AsyncClient(transport=http.MockTransport(serve)),
    )


def failing_stream(recorded: tuple[str, int], events_before_failure: int) -> Handler:
    """The first events of a recorded stream, then a dropped connection."""
    head = b"\n\n".join(recorded_body(*recorded).split(b"\n\n")[:events_before_failure]) + b"\n\n"

    def chunks() -> Iterator[bytes]:
        yield head
        raise http.ReadError("connection reset by peer")

    return lambda request: http.Response(200, headers={"content-type": "text/event-stream"}, content=chunks())


def zero_code_app() -> str:
    """Source for an app with no telemetry code, run under `opentelemetry-instrument`: `chat.complete` (CHAT) and
    `chat.stream` (CHAT_STREAM), served recorded bodies in-process through the SDK's own HTTP client."""
    plain, streamed = recorded_body(*CHAT), recorded_body(*CHAT_STREAM)
    return f"""
        import {http.__name__} as http
        from mistralai.client import Mistral
        def serve(request):
            streaming = request.headers["accept"] == "text/event-stream"
            body, kind = ({streamed!r}, "text/event-stream") if streaming else ({plain!r}, "application/json")
            return http.Response(200, headers={{"content-type": kind}}, content=body)
        client = Mistral(api_key="test", client=http.Client(transport=http.MockTransport(serve)))
        messages = [{{"role": "user", "content": "Tell me a joke about OpenTelemetry"}}]
        client.chat.complete(model="mistral-tiny", messages=messages)
        for _ in client.chat.stream(model="mistral-tiny", messages=messages):
            pass
        """
