# SPDX-License-Identifier: Apache-2.0
"""What the Cohere instrumentor wraps.

v1 calls live on `BaseCohere` / `AsyncBaseCohere`, which `Client` and `AsyncClient` extend; v2 calls on
`V2Client` / `AsyncV2Client`, which `ClientV2` puts first in its bases and `client.v2` is an instance of.
`Client.embed` splits many texts into batches that it sends from a thread pool and merges (usage summed), so
the v1 embed rows are the clients' own `embed`: one span per call, in the caller's trace.

The async clients' `chat_stream` and `generate_stream` are async generator functions: calling one sends nothing
and returns the stream, so their rows are not `is_async` (nothing to await) and `_patch._adapt` reads the
stream they return asynchronously.
"""

from __future__ import annotations

from .._shared.wrapping import Endpoint
from . import _extract as x

_V1 = "cohere.base_client"
_V1_CLIENT = "cohere.client"
_V2 = "cohere.v2.client"


def _rows() -> tuple[Endpoint, ...]:
    rows: list[Endpoint] = []
    for is_async, prefix in ((False, ""), (True, "Async")):
        rows += [
            Endpoint(_V1, f"{prefix}BaseCohere.chat", x.chat_request, x.chat_response, None, is_async),
            Endpoint(
                _V1, f"{prefix}BaseCohere.chat_stream", x.chat_stream_request, x.chat_response, x.ChatStreamReader
            ),
            Endpoint(_V1, f"{prefix}BaseCohere.generate", x.generate_request, x.generate_response, None, is_async),
            Endpoint(
                _V1,
                f"{prefix}BaseCohere.generate_stream",
                x.generate_stream_request,
                x.generate_response,
                x.GenerateStreamReader,
            ),
            Endpoint(_V1, f"{prefix}BaseCohere.rerank", x.rerank_request, x.rerank_response, None, is_async),
            Endpoint(_V1_CLIENT, f"{prefix}Client.embed", x.embed_request, x.embed_response, None, is_async),
            Endpoint(_V2, f"{prefix}V2Client.chat", x.chat_v2_request, x.chat_v2_response, None, is_async),
            Endpoint(
                _V2,
                f"{prefix}V2Client.chat_stream",
                x.chat_v2_stream_request,
                x.chat_v2_response,
                x.ChatV2StreamReader,
            ),
            Endpoint(_V2, f"{prefix}V2Client.embed", x.embed_request, x.embed_response, None, is_async),
            Endpoint(_V2, f"{prefix}V2Client.rerank", x.rerank_request, x.rerank_response, None, is_async),
        ]
    return tuple(rows)


ENDPOINTS = _rows()
