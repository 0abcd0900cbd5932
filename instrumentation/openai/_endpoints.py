# SPDX-License-Identifier: Apache-2.0
"""What the OpenAI instrumentor wraps: a table of SDK methods, sync and async alike.

The `stream()` helpers of chat completions and responses call `create(stream=True)` internally, so they
are covered by the `create` rows; their own `close()` is hooked so that leaving a helper early ends the span.
"""

from __future__ import annotations

from typing import Any

from .._shared.telemetry import Telemetry
from .._shared.wrapping import Endpoint, Target
from . import _extract as x

_CHAT = "openai.resources.chat.completions.completions"
_COMPLETIONS = "openai.resources.completions"
_EMBEDDINGS = "openai.resources.embeddings"
_RESPONSES = "openai.resources.responses.responses"


def _ask_for_stream_usage(kwargs: dict[str, Any], target: Target, telemetry: Telemetry) -> dict[str, Any]:
    """Ask a streamed call to report usage, unless the caller chose, or the endpoint would refuse it.

    `LLMLEDGER_OPENAI_INCLUDE_USAGE` forces asking on (even where the host is known to refuse) or off. Returns a
    new dict: the caller's kwargs are never mutated.
    """
    ask = telemetry.config.include_usage
    if (
        kwargs.get("stream") is True
        and (target.accepts_stream_options if ask is None else ask)
        and "stream_options" not in kwargs
        and "stream_options" not in (kwargs.get("extra_body") or {})
    ):
        return {**kwargs, "stream_options": {"include_usage": True}}
    return kwargs


def _endpoints() -> tuple[Endpoint, ...]:
    rows: list[Endpoint] = []
    for is_async, prefix in ((False, ""), (True, "Async")):
        rows += [
            Endpoint(
                _CHAT,
                f"{prefix}Completions.create",
                x.chat_request,
                x.chat_response,
                x.ChatStreamReader,
                is_async,
                _ask_for_stream_usage,
            ),
            Endpoint(_CHAT, f"{prefix}Completions.parse", x.chat_request, x.chat_response, None, is_async),
            Endpoint(
                _COMPLETIONS,
                f"{prefix}Completions.create",
                x.completion_request,
                x.chat_response,
                x.ChatStreamReader,
                is_async,
                _ask_for_stream_usage,
            ),
            Endpoint(
                _EMBEDDINGS, f"{prefix}Embeddings.create", x.embeddings_request, x.embeddings_response, None, is_async
            ),
            Endpoint(
                _RESPONSES,
                f"{prefix}Responses.create",
                x.responses_request,
                x.responses_response,
                x.ResponsesStreamReader,
                is_async,
            ),
            Endpoint(_RESPONSES, f"{prefix}Responses.parse", x.responses_request, x.responses_response, None, is_async),
        ]
    return tuple(rows)


ENDPOINTS = _endpoints()

# Stream helpers whose close() bypasses the raw stream we proxy: (module, class) → closing it closes ours.
HELPER_STREAMS = (
    ("openai.lib.streaming.chat._completions", "ChatCompletionStream", False),
    ("openai.lib.streaming.chat._completions", "AsyncChatCompletionStream", True),
    ("openai.lib.streaming.responses._responses", "ResponseStream", False),
    ("openai.lib.streaming.responses._responses", "AsyncResponseStream", True),
)
