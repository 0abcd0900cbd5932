# SPDX-License-Identifier: Apache-2.0
"""What the Mistral instrumentor wraps: chat, fill-in-the-middle and embeddings, sync and async.

`chat.parse` and `parse_stream` (structured output) call `complete` and `stream`, so they are recorded by those.
"""

from __future__ import annotations

from .._shared.wrapping import Endpoint
from . import _extract as x

_CHAT = "mistralai.client.chat"
_FIM = "mistralai.client.fim"
_EMBEDDINGS = "mistralai.client.embeddings"


def _rows() -> tuple[Endpoint, ...]:
    rows: list[Endpoint] = []
    for is_async, suffix in ((False, ""), (True, "_async")):
        rows += [
            Endpoint(_CHAT, f"Chat.complete{suffix}", x.chat_request, x.completion_response, None, is_async),
            Endpoint(
                _CHAT, f"Chat.stream{suffix}", x.chat_stream_request, x.completion_response, x.StreamReader, is_async
            ),
            Endpoint(_FIM, f"Fim.complete{suffix}", x.fim_request, x.completion_response, None, is_async),
            Endpoint(
                _FIM, f"Fim.stream{suffix}", x.fim_stream_request, x.completion_response, x.StreamReader, is_async
            ),
            Endpoint(_EMBEDDINGS, f"Embeddings.create{suffix}", x.embed_request, x.embed_response, None, is_async),
        ]
    return tuple(rows)


ENDPOINTS = _rows()
