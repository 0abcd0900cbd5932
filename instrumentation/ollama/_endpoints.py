# SPDX-License-Identifier: Apache-2.0
"""What the Ollama instrumentor wraps: the four calls that run a model, on the sync and the async client.

Their first parameters may be given by position (`ollama.chat("llama3", messages)`); `positional` names them,
in the order of the SDK's signatures, so that the call is read whichever way it was made.
"""

from __future__ import annotations

from .._shared.wrapping import Endpoint
from . import _extract as x

_CLIENT = "ollama._client"
_CHAT = ("model", "messages")
_GENERATE = ("model", "prompt", "suffix")
_EMBED = ("model", "input", "truncate", "options", "keep_alive", "dimensions")
_EMBEDDINGS = ("model", "prompt", "options", "keep_alive")


def _rows() -> tuple[Endpoint, ...]:
    rows: list[Endpoint] = []
    for is_async, cls in ((False, "Client"), (True, "AsyncClient")):
        rows += [
            Endpoint(
                _CLIENT,
                f"{cls}.chat",
                x.chat_request,
                x.chat_response,
                x.StreamReader,
                is_async,
                positional=_CHAT,
            ),
            Endpoint(
                _CLIENT,
                f"{cls}.generate",
                x.generate_request,
                x.generate_response,
                x.StreamReader,
                is_async,
                positional=_GENERATE,
            ),
            Endpoint(_CLIENT, f"{cls}.embed", x.embed_request, x.embed_response, None, is_async, positional=_EMBED),
            Endpoint(
                _CLIENT,
                f"{cls}.embeddings",
                x.embed_request,
                x.embeddings_response,
                None,
                is_async,
                positional=_EMBEDDINGS,
            ),
        ]
    return tuple(rows)


ENDPOINTS = _rows()
# `ollama.chat` and its siblings are bound to the module's default client when `ollama` is imported, before the
# class is wrapped: `_patch` binds them again.
MODULE_FUNCTIONS = ("chat", "generate", "embed", "embeddings")
