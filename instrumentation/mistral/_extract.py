# SPDX-License-Identifier: Apache-2.0
"""Pure readers of `mistralai` requests, responses and stream events.

Mistral's usage has the OpenAI chat shape: `prompt_tokens` includes the tokens read from its prompt cache
(`prompt_tokens_details.cached_tokens`, which the SDK keeps among a usage's extra fields), and
`completion_tokens` is the output. A stream's events each wrap a chunk (`event.data`); the last chunk carries
the usage.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.util.types import AttributeValue

from llmledger._core import attributes as attr
from llmledger._core.usage import Usage, as_count

from .._shared.fields import dump as _dump
from .._shared.fields import embedding_attributes
from .._shared.fields import field as _get
from .._shared.fields import text as _str
from .._shared.invocation import Request, Response, clean

_PARAMS = {
    "max_tokens": attr.REQUEST_MAX_TOKENS,
    "temperature": attr.REQUEST_TEMPERATURE,
    "top_p": attr.REQUEST_TOP_P,
    "frequency_penalty": attr.REQUEST_FREQUENCY_PENALTY,
    "presence_penalty": attr.REQUEST_PRESENCE_PENALTY,
    "random_seed": attr.REQUEST_SEED,
    "stop": attr.REQUEST_STOP_SEQUENCES,
    "n": attr.REQUEST_CHOICE_COUNT,
}


def _params(kwargs: Mapping[str, Any]) -> dict[str, AttributeValue]:
    params = clean(kwargs, _PARAMS)
    stop = kwargs.get("stop")
    if isinstance(stop, str):  # one stop sequence may be given as a string
        params[attr.REQUEST_STOP_SEQUENCES] = (stop,)
    return params


# --- requests ------------------------------------------------------------------------------------------


def chat_request(kwargs: Mapping[str, Any]) -> Request:
    return Request(
        "chat", _str(kwargs.get("model")), False, _params(kwargs), lambda: _dump(list(kwargs.get("messages") or ()))
    )


def chat_stream_request(kwargs: Mapping[str, Any]) -> Request:
    request = chat_request(kwargs)
    request.streaming = True
    return request


def fim_request(kwargs: Mapping[str, Any]) -> Request:
    """Fill-in-the-middle: the model completes between `prompt` and `suffix`."""
    return Request(
        "text_completion",
        _str(kwargs.get("model")),
        False,
        _params(kwargs),
        lambda: [{"role": "user", "prompt": kwargs.get("prompt"), "suffix": kwargs.get("suffix")}],
    )


def fim_stream_request(kwargs: Mapping[str, Any]) -> Request:
    request = fim_request(kwargs)
    request.streaming = True
    return request


def embed_request(kwargs: Mapping[str, Any]) -> Request:
    return Request("embeddings", _str(kwargs.get("model")), False, {})


# --- usage and responses -------------------------------------------------------------------------------


def usage_of(usage: Any) -> Usage:
    if usage is None:
        return Usage()
    return Usage(
        input_tokens=as_count(_get(usage, "prompt_tokens")),
        output_tokens=as_count(_get(usage, "completion_tokens")),
        cache_read_tokens=as_count(_get(_get(usage, "prompt_tokens_details"), "cached_tokens")),
    )


def _finish_reasons(choices: Any) -> list[str]:
    reasons = []
    for choice in choices or ():
        reason = _get(choice, "finish_reason")
        if reason is not None and not isinstance(reason, str):  # an enum; None on every chunk but the last
            reason = getattr(reason, "value", reason)
        if isinstance(reason, str):
            reasons.append(reason)
    return reasons


def completion_response(result: Any) -> Response:
    """Chat and FIM completions alike."""
    choices = _get(result, "choices") or ()
    return Response(
        id=_str(_get(result, "id")),
        model=_str(_get(result, "model")),
        finish_reasons=_finish_reasons(choices) or None,
        usage=usage_of(_get(result, "usage")),
        output_messages=lambda: [_dump(_get(c, "message")) for c in choices],
    )


def embed_response(result: Any) -> Response:
    """Embeddings bill their input; Mistral reports `completion_tokens: 0` beside it, recorded as reported."""
    return Response(
        id=_str(_get(result, "id")),
        model=_str(_get(result, "model")),
        usage=usage_of(_get(result, "usage")),
        attributes=embedding_attributes(result),
    )


class StreamReader:
    """Chat and FIM streams: each event's `data` is a chunk; the last one carries the usage.

    A stream left before its usage arrived records none and is flagged incomplete.
    """

    __slots__ = ("_finish", "_id", "_model", "_usage", "usage_seen")

    def __init__(self) -> None:
        self._id: str | None = None
        self._model: str | None = None
        self._finish: list[str] = []
        self._usage = Usage()
        self.usage_seen = False

    def feed(self, event: Any) -> None:
        chunk = _get(event, "data")
        if chunk is None:
            return
        if self._id is None:
            self._id = _str(_get(chunk, "id"))
            self._model = _str(_get(chunk, "model"))
        reasons = _finish_reasons(_get(chunk, "choices"))
        if reasons:
            self._finish = reasons
        usage = _get(chunk, "usage")
        if usage is not None:
            self._usage = usage_of(usage)
            self.usage_seen = True

    def response(self) -> Response:
        return Response(id=self._id, model=self._model, finish_reasons=self._finish or None, usage=self._usage)
