# SPDX-License-Identifier: Apache-2.0
"""A google-genai client (Gemini API) whose real httpx2 clients, sync and async, are served in-process."""

from __future__ import annotations

from collections.abc import Callable

import httpx2
from google import genai
from google.genai import types

from tests.instrumentation.openai.transport import recorded_body

_RECORDED = "google_genai/openinference/google-genai/test_instrumentation"
PLAIN = (f"{_RECORDED}/test_generate_content.yaml", 0)  # gemini-2.0-flash, 45 in, 23 out
STREAM = (f"{_RECORDED}/test_streaming_text_content.yaml", 0)  # gemini-2.0-flash, 9 in, 527 out
MODEL = "gemini-2.0-flash"


def client(handler: Callable[[httpx2.Request], httpx2.Response]) -> genai.Client:
    async def serve(request: httpx2.Request) -> httpx2.Response:
        return handler(request)

    return genai.Client(
        api_key="test",
        http_options=types.HttpOptions(
            api_version="v1beta",
            httpx_client=httpx2.Client(transport=httpx2.MockTransport(handler)),
            httpx_async_client=httpx2.AsyncClient(transport=httpx2.MockTransport(serve)),
        ),
    )


def zero_code_app() -> str:
    """Source for an app with no telemetry code, run under `opentelemetry-instrument`: `generate_content` (PLAIN)
    and `generate_content_stream` (STREAM), served recorded bodies in-process through the SDK's own HTTP client."""
    plain, streamed = recorded_body(*PLAIN), recorded_body(*STREAM)
    return f"""
        import httpx2
        from google import genai
        from google.genai import types
        def serve(request):
            streaming = request.url.path.endswith(":streamGenerateContent")
            body, kind = ({streamed!r}, "text/event-stream") if streaming else ({plain!r}, "application/json")
            return httpx2.Response(200, headers={{"content-type": kind}}, content=body)
        client = genai.Client(api_key="test", http_options=types.HttpOptions(
            api_version="v1beta", httpx_client=httpx2.Client(transport=httpx2.MockTransport(serve))))
        client.models.generate_content(model="{MODEL}", contents="Tell me a joke")
        for _ in client.models.generate_content_stream(model="{MODEL}", contents="Tell me a story"):
            pass
        """
