# SPDX-License-Identifier: Apache-2.0
"""A google-genai client (Gemini API) whose real HTTP clients, sync and async, are served in-process.

The SDK takes them as `HttpOptions(httpx_client=…, httpx_async_client=…)`: httpx2 clients where it accepts them
(google-genai 3 on), httpx clients before. A release without those options cannot be served in-process, and a
test that needs it is skipped there.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from google import genai
from google.genai import types

from tests.instrumentation import sdk_http
from tests.instrumentation.openai.transport import recorded_body


def _library() -> ModuleType | None:
    """The library whose clients `HttpOptions.httpx_client` accepts, httpx2 first; None without that option."""
    field = types.HttpOptions.model_fields.get("httpx_client")
    if field is None:
        return None
    accepted = [cls for cls in typing.get_args(field.annotation) if isinstance(cls, type)]
    return sdk_http.library_of(*accepted)


http = _library()

_RECORDED = "google_genai/openinference/google-genai/test_instrumentation"
PLAIN = (f"{_RECORDED}/test_generate_content.yaml", 0)  # gemini-2.0-flash, 45 in, 23 out
STREAM = (f"{_RECORDED}/test_streaming_text_content.yaml", 0)  # gemini-2.0-flash, 9 in, 527 out
MODEL = "gemini-2.0-flash"


def _served() -> ModuleType:
    if http is None:
        pytest.skip("this google-genai has no HttpOptions.httpx_client, through which a test serves its replies")
    return http


def client(handler: Callable[[Any], Any]) -> genai.Client:
    """A client whose requests `handler` answers (an `http.Request` to an `http.Response`)."""
    library = _served()

    async def serve(request: Any) -> Any:
        return handler(request)

    return genai.Client(
        api_key="test",
        http_options=types.HttpOptions(
            api_version="v1beta",
            httpx_client=library.Client(transport=library.MockTransport(handler)),
            httpx_async_client=library.AsyncClient(transport=library.MockTransport(serve)),
        ),
    )


def response(status: int, body: bytes, content_type: str = "application/json") -> Any:
    return _served().Response(status, headers={"content-type": content_type}, content=body)


def sse(body: bytes) -> Any:
    return sdk_http.sse(_served(), body)


def failing_stream(body: bytes, events_before_failure: int, error: BaseException | None = None) -> Any:
    """The first events of a recorded stream, then `error` (a dropped connection unless given)."""
    return sdk_http.failing_stream(_served(), body, events_before_failure, error)


def zero_code_app() -> str:
    """Source for an app with no telemetry code, run under `opentelemetry-instrument`: `generate_content` (PLAIN)
    and `generate_content_stream` (STREAM), served recorded bodies in-process through the SDK's own HTTP client."""
    plain, streamed = recorded_body(*PLAIN), recorded_body(*STREAM)
    library = _served().__name__
    return f"""
        import {library} as http
        from google import genai
        from google.genai import types
        def serve(request):
            streaming = request.url.path.endswith(":streamGenerateContent")
            body, kind = ({streamed!r}, "text/event-stream") if streaming else ({plain!r}, "application/json")
            return http.Response(200, headers={{"content-type": kind}}, content=body)
        client = genai.Client(api_key="test", http_options=types.HttpOptions(
            api_version="v1beta", httpx_client=http.Client(transport=http.MockTransport(serve))))
        client.models.generate_content(model="{MODEL}", contents="Tell me a joke")
        for _ in client.models.generate_content_stream(model="{MODEL}", contents="Tell me a story"):
            pass
        """
