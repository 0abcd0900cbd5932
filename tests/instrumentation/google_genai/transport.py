# SPDX-License-Identifier: Apache-2.0
"""A google-genai client (Gemini API) whose real httpx2 clients, sync and async, are served in-process."""

from __future__ import annotations

from collections.abc import Callable

import httpx2
from google import genai
from google.genai import types


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
