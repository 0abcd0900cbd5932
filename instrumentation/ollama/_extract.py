# SPDX-License-Identifier: Apache-2.0
"""Pure readers of Ollama requests, responses and stream chunks.

Ollama counts the prompt (`prompt_eval_count`) and the generated tokens (`eval_count`, thinking included) on
each final response; a stream sends them on its last chunk, the one with `done: true`. When every prompt token
was already in its cache, Ollama evaluates none and leaves `prompt_eval_count` out: the input count is then
unknown, not zero. Sampling parameters travel in `options`, under Ollama's names (`num_predict` is max_tokens).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.util.types import AttributeValue

from llmledger._core import attributes as attr
from llmledger._core.usage import Usage, as_count

from .._shared.fields import dump as _dump
from .._shared.fields import field as _get
from .._shared.fields import text as _str
from .._shared.invocation import Request, Response, clean

_OPTIONS = {
    "num_predict": attr.REQUEST_MAX_TOKENS,
    "temperature": attr.REQUEST_TEMPERATURE,
    "top_p": attr.REQUEST_TOP_P,
    "top_k": attr.REQUEST_TOP_K,
    "frequency_penalty": attr.REQUEST_FREQUENCY_PENALTY,
    "presence_penalty": attr.REQUEST_PRESENCE_PENALTY,
    "seed": attr.REQUEST_SEED,
    "stop": attr.REQUEST_STOP_SEQUENCES,
}


def _request(operation: str, kwargs: Mapping[str, Any], messages: Any) -> Request:
    return Request(
        operation,
        _str(kwargs.get("model")) or None,  # '' is the SDK's default: no model named
        kwargs.get("stream") is True,
        clean(kwargs.get("options"), _OPTIONS),
        messages,
    )


def chat_request(kwargs: Mapping[str, Any]) -> Request:
    return _request("chat", kwargs, lambda: _dump(list(kwargs.get("messages") or ())))


def generate_request(kwargs: Mapping[str, Any]) -> Request:
    def messages() -> list[dict[str, Any]]:
        system = kwargs.get("system")
        turns = [{"role": "system", "content": system}] if isinstance(system, str) and system else []
        return [*turns, {"role": "user", "content": kwargs.get("prompt")}]

    return _request("text_completion", kwargs, messages)


def embed_request(kwargs: Mapping[str, Any]) -> Request:
    return Request("embeddings", _str(kwargs.get("model")) or None, False, {})


def usage_of(result: Any) -> Usage:
    return Usage(
        input_tokens=as_count(_get(result, "prompt_eval_count")),
        output_tokens=as_count(_get(result, "eval_count")),
    )


def _finish(result: Any) -> list[str] | None:
    reason = _str(_get(result, "done_reason"))
    return [reason] if reason else None


def chat_response(result: Any) -> Response:
    return Response(
        model=_str(_get(result, "model")),
        finish_reasons=_finish(result),
        usage=usage_of(result),
        output_messages=lambda: [_dump(_get(result, "message"))],
    )


def generate_response(result: Any) -> Response:
    return Response(
        model=_str(_get(result, "model")),
        finish_reasons=_finish(result),
        usage=usage_of(result),
        output_messages=lambda: [{"role": "assistant", "content": _get(result, "response")}],
    )


def embed_response(result: Any) -> Response:
    """`embed` counts its input; the output is vectors, not tokens."""
    embeddings = _get(result, "embeddings")
    attributes: dict[str, AttributeValue] = {}
    if isinstance(embeddings, list | tuple) and embeddings and isinstance(embeddings[0], list | tuple):
        attributes[attr.EMBEDDINGS_DIMENSION_COUNT] = len(embeddings[0])
    return Response(
        model=_str(_get(result, "model")),
        usage=Usage(input_tokens=as_count(_get(result, "prompt_eval_count"))),
        attributes=attributes,
    )


def embeddings_response(result: Any) -> Response:
    """The older `embeddings` reports no counts at all: a span without usage."""
    return Response()


class StreamReader:
    """Chat and generate streams alike: the chunk with `done: true` holds the model, finish reason and counts.

    A stream left before that chunk records no usage and is flagged incomplete.
    """

    __slots__ = ("_last", "_model", "usage_seen")

    def __init__(self) -> None:
        self._model: str | None = None
        self._last: Any = None
        self.usage_seen = False

    def feed(self, chunk: Any) -> None:
        if self._model is None:
            self._model = _str(_get(chunk, "model"))
        if _get(chunk, "done") is True:
            self._last = chunk
            self.usage_seen = True

    def response(self) -> Response:
        if self._last is None:
            return Response(model=self._model)
        return Response(model=self._model, finish_reasons=_finish(self._last), usage=usage_of(self._last))
