# SPDX-License-Identifier: Apache-2.0
"""What the google-genai instrumentor wraps.

`generate_content` and `generate_content_stream` may send several requests for one call: automatic function
calling sends the tool results back, and automatic continuation resumes a long output; the public method
returns only the last response's usage. So the rows wrap the SDK's per-request methods (`_generate_content`,
`_generate_content_stream`), which every public path goes through (`models` and `aio.models`, and `chats`),
and each request gets its own span with its own, exact, usage. The interactions API merges the usage of its
hops itself, so its public `create` is wrapped.
"""

from __future__ import annotations

from .._shared.wrapping import Endpoint
from . import _extract as x

_MODELS = "google.genai.models"
_CACHES = "google.genai.caches"
_INTERACTIONS = "google.genai._gaos.google_genai"


def _rows() -> tuple[Endpoint, ...]:
    rows: list[Endpoint] = []
    for is_async, prefix in ((False, ""), (True, "Async")):
        rows += [
            Endpoint(
                _MODELS, f"{prefix}Models._generate_content", x.generate_request, x.generate_response, None, is_async
            ),
            Endpoint(
                _MODELS,
                f"{prefix}Models._generate_content_stream",
                x.stream_request,
                x.generate_response,
                x.GenerateStreamReader,
                is_async,
            ),
            Endpoint(_MODELS, f"{prefix}Models.embed_content", x.embed_request, x.embed_response, None, is_async),
            Endpoint(_CACHES, f"{prefix}Caches.create", x.cache_request, x.cache_response, None, is_async),
            Endpoint(
                _INTERACTIONS,
                f"{prefix}GeminiNextGenInteractions.create",
                x.interaction_request,
                x.interaction_response,
                x.InteractionStreamReader,
                is_async,
            ),
        ]
    return tuple(rows)


ENDPOINTS = _rows()
