# SPDX-License-Identifier: Apache-2.0
"""Pure readers of Cohere requests, responses and stream events, for the v1 and v2 APIs.

Every Cohere response says what it billed (`billed_units`) beside what it counted (`tokens`): the counts include
tokens Cohere adds itself (its prompt template, special tokens), which it does not bill, so the billed units
win and the counts are read only when nothing was billed in tokens. v1 responses carry them in `meta`, v2 chat
in `usage`, and v2 embed and rerank in `meta` again. A rerank bills searches (`search_units`), not tokens.
Responses name no model: calls are priced by the requested one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmledger._core import attributes as attr
from llmledger._core.usage import Usage, as_count

from .._shared.fields import dump as _dump
from .._shared.fields import field as _get
from .._shared.fields import text as _str
from .._shared.invocation import Request, Response, clean

_PARAMS = {
    "max_tokens": attr.REQUEST_MAX_TOKENS,
    "temperature": attr.REQUEST_TEMPERATURE,
    "p": attr.REQUEST_TOP_P,
    "k": attr.REQUEST_TOP_K,
    "frequency_penalty": attr.REQUEST_FREQUENCY_PENALTY,
    "presence_penalty": attr.REQUEST_PRESENCE_PENALTY,
    "seed": attr.REQUEST_SEED,
    "stop_sequences": attr.REQUEST_STOP_SEQUENCES,
    "num_generations": attr.REQUEST_CHOICE_COUNT,
}


def _model(kwargs: Mapping[str, Any]) -> str | None:
    return _str(kwargs.get("model"))  # absent (the SDK's OMIT sentinel): Cohere picks its default model


# --- requests ------------------------------------------------------------------------------------------


def chat_request(kwargs: Mapping[str, Any]) -> Request:
    """v1 `chat`: one `message`, with `chat_history` and a `preamble` before it."""

    def messages() -> Any:
        history = kwargs.get("chat_history")
        turns = _dump(list(history)) if isinstance(history, list | tuple) else []
        preamble = kwargs.get("preamble")
        if isinstance(preamble, str):
            turns.insert(0, {"role": "SYSTEM", "message": preamble})
        return [*turns, {"role": "USER", "message": kwargs.get("message")}]

    return Request("chat", _model(kwargs), False, clean(kwargs, _PARAMS), messages)


def chat_stream_request(kwargs: Mapping[str, Any]) -> Request:
    request = chat_request(kwargs)
    request.streaming = True
    return request


def chat_v2_request(kwargs: Mapping[str, Any]) -> Request:
    return Request("chat", _model(kwargs), False, clean(kwargs, _PARAMS), lambda: _dump(kwargs.get("messages")))


def chat_v2_stream_request(kwargs: Mapping[str, Any]) -> Request:
    request = chat_v2_request(kwargs)
    request.streaming = True
    return request


def generate_request(kwargs: Mapping[str, Any]) -> Request:
    return Request(
        "text_completion",
        _model(kwargs),
        False,
        clean(kwargs, _PARAMS),
        lambda: [{"role": "user", "content": kwargs.get("prompt")}],
    )


def generate_stream_request(kwargs: Mapping[str, Any]) -> Request:
    request = generate_request(kwargs)
    request.streaming = True
    return request


def embed_request(kwargs: Mapping[str, Any]) -> Request:
    return Request("embeddings", _model(kwargs), False, {})


def rerank_request(kwargs: Mapping[str, Any]) -> Request:
    return Request("rerank", _model(kwargs), False, {})


# --- usage ---------------------------------------------------------------------------------------------


def billed(source: Any) -> tuple[Usage, int | None]:
    """The usage and the searches in a `meta` (v1, embed, rerank) or `usage` (v2 chat) block.

    Billed tokens win over counted ones; the counts stand in only when the block bills no tokens at all.
    """
    units = _get(source, "billed_units")
    input_tokens = as_count(_get(units, "input_tokens"))
    output_tokens = as_count(_get(units, "output_tokens"))
    if input_tokens is None and output_tokens is None:
        counted = _get(source, "tokens")
        input_tokens = as_count(_get(counted, "input_tokens"))
        output_tokens = as_count(_get(counted, "output_tokens"))
    return Usage(input_tokens=input_tokens, output_tokens=output_tokens), as_count(_get(units, "search_units"))


def _finish(reason: Any) -> list[str] | None:
    reason = getattr(reason, "value", reason)
    return [reason.lower()] if isinstance(reason, str) else None


# --- responses -----------------------------------------------------------------------------------------


def chat_response(result: Any) -> Response:
    """v1 `NonStreamedChatResponse` (also the `response` of a v1 stream's `stream-end` event)."""
    usage, _ = billed(_get(result, "meta"))
    return Response(
        id=_str(_get(result, "response_id")) or _str(_get(result, "generation_id")),
        finish_reasons=_finish(_get(result, "finish_reason")),
        usage=usage,
        output_messages=lambda: [{"role": "CHATBOT", "message": _get(result, "text")}],
    )


def chat_v2_response(result: Any) -> Response:
    usage, _ = billed(_get(result, "usage"))
    return Response(
        id=_str(_get(result, "id")),
        finish_reasons=_finish(_get(result, "finish_reason")),
        usage=usage,
        output_messages=lambda: [_dump(_get(result, "message"))],
    )


def generate_response(result: Any) -> Response:
    generations = _get(result, "generations") or ()
    usage, _ = billed(_get(result, "meta"))
    reasons = [r for g in generations for r in _finish(_get(g, "finish_reason")) or ()]
    return Response(
        id=_str(_get(result, "id")),
        finish_reasons=reasons or None,
        usage=usage,
        output_messages=lambda: [{"role": "assistant", "content": _get(g, "text")} for g in generations],
    )


def embed_response(result: Any) -> Response:
    usage, _ = billed(_get(result, "meta"))
    return Response(id=_str(_get(result, "id")), usage=usage)


def rerank_response(result: Any) -> Response:
    usage, searches = billed(_get(result, "meta"))
    return Response(id=_str(_get(result, "id")), usage=usage, search_units=searches)


# --- streams -------------------------------------------------------------------------------------------


class ChatStreamReader:
    """v1 chat stream: `stream-start` names the generation, `stream-end` holds the whole response, meta and all.

    A stream left before `stream-end` records no usage and is flagged incomplete.
    """

    __slots__ = ("_end", "_id", "usage_seen")

    def __init__(self) -> None:
        self._id: str | None = None
        self._end: Response | None = None
        self.usage_seen = False

    def feed(self, event: Any) -> None:
        kind = _get(event, "event_type")
        if kind == "stream-start":
            self._id = _str(_get(event, "generation_id"))
        elif kind == "stream-end":
            response = chat_response(_get(event, "response"))
            response.finish_reasons = _finish(_get(event, "finish_reason")) or response.finish_reasons
            self._end = response
            self.usage_seen = not response.usage.is_empty

    def response(self) -> Response:
        if self._end is not None:
            self._end.id = self._end.id or self._id
            return self._end
        return Response(id=self._id)


class GenerateStreamReader:
    """v1 generate stream: the `stream-end` event ends it; its response holds `meta` where Cohere sends one."""

    __slots__ = ("_end", "usage_seen")

    def __init__(self) -> None:
        self._end: Response | None = None
        self.usage_seen = False

    def feed(self, event: Any) -> None:
        if _get(event, "event_type") == "stream-end":
            response = generate_response(_get(event, "response"))
            response.finish_reasons = _finish(_get(event, "finish_reason")) or response.finish_reasons
            self._end = response
            self.usage_seen = not response.usage.is_empty

    def response(self) -> Response:
        return self._end if self._end is not None else Response()


class ChatV2StreamReader:
    """v2 chat stream: `message-start` names the message, `message-end` carries the finish reason and usage."""

    __slots__ = ("_finish", "_id", "_usage", "usage_seen")

    def __init__(self) -> None:
        self._id: str | None = None
        self._finish: list[str] | None = None
        self._usage = Usage()
        self.usage_seen = False

    def feed(self, event: Any) -> None:
        kind = _get(event, "type")
        if kind == "message-start":
            self._id = _str(_get(event, "id"))
        elif kind == "message-end":
            delta = _get(event, "delta")
            self._finish = _finish(_get(delta, "finish_reason"))
            self._usage, _ = billed(_get(delta, "usage"))
            self.usage_seen = not self._usage.is_empty

    def response(self) -> Response:
        return Response(id=self._id, finish_reasons=self._finish, usage=self._usage)
