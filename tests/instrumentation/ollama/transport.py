# SPDX-License-Identifier: Apache-2.0
"""Ollama clients, sync and async, whose real HTTP client (httpx) is served in-process.

`ollama.Client(host, **kwargs)` hands its keyword arguments to `httpx.Client`, so a test passes a
`transport` that answers with recorded bodies or with failures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import ollama

from tests.instrumentation.openai.transport import recorded_body

_RECORDED = "ollama/openllmetry/ollama"
CHAT = (f"{_RECORDED}/test_chat/test_ollama_chat_legacy.yaml", 0)  # llama3: 17 in, 66 out
CHAT_STREAM = (f"{_RECORDED}/test_chat/test_ollama_streaming_chat_legacy.yaml", 0)  # llama3: 17 in, 50 out
GENERATE_CACHED = (f"{_RECORDED}/test_generation/test_ollama_async_generation_legacy.yaml", 0)  # ? in, 38 out
GEMMA = (f"{_RECORDED}/test_ollama_metrics/test_ollama_operation_duration_includes_model_attribute.yaml", 0)
MESSAGES = [{"role": "user", "content": "Tell me a joke about OpenTelemetry"}]
HOST = "http://127.0.0.1:11434"

Handler = Callable[[httpx.Request], httpx.Response]


def reply(recorded: tuple[str, int], status: int = 200) -> Handler:
    body = recorded_body(*recorded)
    return lambda request: httpx.Response(status, content=body)


def client(handler: Handler) -> ollama.Client:
    return ollama.Client(HOST, transport=httpx.MockTransport(handler))


def async_client(handler: Handler) -> ollama.AsyncClient:
    async def serve(request: httpx.Request) -> httpx.Response:
        return handler(request)

    return ollama.AsyncClient(HOST, transport=httpx.MockTransport(serve))


def failing_stream(recorded: tuple[str, int], lines_before_failure: int) -> Handler:
    """The first lines of a recorded stream, then a dropped connection."""
    head = b"\n".join(recorded_body(*recorded).split(b"\n")[:lines_before_failure]) + b"\n"

    def chunks() -> Iterator[bytes]:
        yield head
        raise httpx.ReadError("connection reset by peer")

    return lambda request: httpx.Response(200, content=chunks())


def zero_code_app() -> str:
    """Source for an app with no telemetry code, run under `opentelemetry-instrument`: `ollama.chat` with and without
    `stream=True` on a client served recorded bodies (CHAT, CHAT_STREAM) in-process through its own HTTP client."""
    plain, streamed = recorded_body(*CHAT), recorded_body(*CHAT_STREAM)
    return f"""
        import httpx, json, ollama
        def serve(request):
            return httpx.Response(200, content={streamed!r} if json.loads(request.content)["stream"] else {plain!r})
        client = ollama.Client("{HOST}", transport=httpx.MockTransport(serve))
        messages = [{{"role": "user", "content": "Tell me a joke about OpenTelemetry"}}]
        client.chat("llama3", messages)
        for _ in client.chat("llama3", messages, stream=True):
            pass
        """
