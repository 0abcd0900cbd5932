# SPDX-License-Identifier: Apache-2.0
"""Anthropic clients whose real HTTP stack (httpx2 from anthropic 1 on, httpx before) is served in-process from
recorded bodies.

For what no recording has (1-hour cache writes, thinking-token counts, a failure mid-stream, Vertex AI), a test
starts from a recorded body and changes only what it is about.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from typing import Any

import anthropic
import pytest

from tests.instrumentation import sdk_http
from tests.instrumentation.openai.transport import recorded_body, recorded_json

__all__ = ["failing_stream", "recorded_body", "recorded_json", "sse"]

_DIR = "anthropic/openllmetry/anthropic"
CACHE_WRITE = (f"{_DIR}/test_prompt_caching/test_anthropic_prompt_caching_legacy.yaml", 0)
THINKING = (f"{_DIR}/test_thinking/test_anthropic_thinking_legacy.yaml", 0)
OPUS = (f"{_DIR}/test_messages/test_anthropic_message_create_legacy.yaml", 0)
STREAM = (f"{_DIR}/test_messages/test_anthropic_message_stream_manager_legacy.yaml", 0)  # claude-3-5-haiku
MESSAGES = [{"role": "user", "content": "Tell me a joke about OpenTelemetry"}]

Handler = Callable[[Any], Any]  # an `http.Request` to an `http.Response`

http = sdk_http.library_of(anthropic.DefaultHttpxClient)


def sse(body: bytes) -> Any:
    return sdk_http.sse(http, body)


def failing_stream(body: bytes, events_before_failure: int, error: BaseException | None = None) -> Any:
    """The first events of a recorded stream, then `error` (a dropped connection unless given)."""
    return sdk_http.failing_stream(http, body, events_before_failure, error)


def json_response(body: dict[str, Any], status: int = 200) -> Handler:
    payload = json.dumps(body).encode()
    return lambda request: http.Response(status, headers={"content-type": "application/json"}, content=payload)


def stream_response(recording: tuple[str, int] = STREAM) -> Handler:
    return lambda request: sse(recorded_body(*recording))


def client(handler: Handler, **options: Any) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        api_key="test",
        max_retries=0,
        http_client=anthropic.DefaultHttpxClient(transport=http.MockTransport(handler)),
        **options,
    )


def async_client(handler: Handler, **options: Any) -> anthropic.AsyncAnthropic:
    async def serve(request: Any) -> Any:
        return handler(request)

    return anthropic.AsyncAnthropic(
        api_key="test",
        max_retries=0,
        http_client=anthropic.DefaultAsyncHttpxClient(transport=http.MockTransport(serve)),
        **options,
    )


def vertex_client(handler: Handler) -> anthropic.AnthropicVertex:
    return anthropic.AnthropicVertex(
        region="us-east5",
        project_id="test-project",
        access_token="test",
        max_retries=0,
        http_client=anthropic.DefaultHttpxClient(transport=http.MockTransport(handler)),
    )


def async_vertex_client(handler: Handler) -> anthropic.AsyncAnthropicVertex:
    async def serve(request: Any) -> Any:
        return handler(request)

    return anthropic.AsyncAnthropicVertex(
        region="us-east5",
        project_id="test-project",
        access_token="test",
        max_retries=0,
        http_client=anthropic.DefaultAsyncHttpxClient(transport=http.MockTransport(serve)),
    )


def bedrock_client(handler: Handler) -> anthropic.AnthropicBedrock:
    """An Amazon Bedrock client with an API key (a bearer token), so that no AWS credentials are looked for."""
    _needs_api_key(anthropic.AnthropicBedrock)
    return anthropic.AnthropicBedrock(
        aws_region="us-east-1",
        api_key="test",
        max_retries=0,
        http_client=anthropic.DefaultHttpxClient(transport=http.MockTransport(handler)),
    )


def async_bedrock_client(handler: Handler) -> anthropic.AsyncAnthropicBedrock:
    async def serve(request: Any) -> Any:
        return handler(request)

    _needs_api_key(anthropic.AsyncAnthropicBedrock)
    return anthropic.AsyncAnthropicBedrock(
        aws_region="us-east-1",
        api_key="test",
        max_retries=0,
        http_client=anthropic.DefaultAsyncHttpxClient(transport=http.MockTransport(serve)),
    )


def _needs_api_key(client_class: type) -> None:
    if "api_key" not in inspect.signature(client_class.__init__).parameters:  # type: ignore[misc]
        pytest.skip(f"this release's {client_class.__name__} takes no api_key: it would sign with AWS credentials")


def zero_code_app() -> str:
    """Source for an app with no telemetry code, run under `opentelemetry-instrument`: a plain `messages.create`
    (claude-3-opus, OPUS) and a `messages.stream()` (claude-3-5-haiku, STREAM), served recorded bodies in-process
    through the SDK's own HTTP client."""
    plain, streamed = recorded_body(*OPUS), recorded_body(*STREAM)
    return f"""
        import anthropic, {http.__name__} as http
        def serve(request):
            streaming = b'"stream":true' in request.content.replace(b" ", b"")
            body, kind = ({streamed!r}, "text/event-stream") if streaming else ({plain!r}, "application/json")
            return http.Response(200, headers={{"content-type": kind}}, content=body)
        client = anthropic.Anthropic(api_key="test", max_retries=0,
            http_client=anthropic.DefaultHttpxClient(transport=http.MockTransport(serve)))
        question = {MESSAGES!r}
        client.messages.create(model="claude-3-opus-20240229", max_tokens=1024, messages=question)
        with client.messages.stream(model="claude-3-5-haiku-20241022", max_tokens=1024, messages=question) as s:
            s.get_final_message()
        """
