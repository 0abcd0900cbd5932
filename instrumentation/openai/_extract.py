# SPDX-License-Identifier: Apache-2.0
"""Pure readers of OpenAI SDK requests, responses and stream chunks.

They read SDK objects and plain dicts alike (`_get`), and leave unknown values as None: a response with a
missing or odd `usage` still yields a span, just without the numbers it does not have.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from opentelemetry.util.types import AttributeValue

from llmledger._core import attributes as attr
from llmledger._core.usage import Usage, as_count

from .._shared.fields import Fields, embedding_attributes
from .._shared.fields import field as _get
from .._shared.fields import text as _str
from .._shared.invocation import CHAT_PARAMS, Request, Response, chat_params, clean

# --- requests ------------------------------------------------------------------------------------------

_CHAT_PARAMS = {**CHAT_PARAMS, "service_tier": attr.OPENAI_REQUEST_SERVICE_TIER}
_RESPONSES_PARAMS = {
    "max_output_tokens": attr.REQUEST_MAX_TOKENS,
    "temperature": attr.REQUEST_TEMPERATURE,
    "top_p": attr.REQUEST_TOP_P,
    "service_tier": attr.OPENAI_REQUEST_SERVICE_TIER,
}


def _model(kwargs: Mapping[str, Any]) -> str | None:
    model = kwargs.get("model")
    return model if isinstance(model, str) else None


def _streaming(kwargs: Mapping[str, Any]) -> bool:
    return kwargs.get("stream") is True


def chat_request(kwargs: Mapping[str, Any]) -> Request:
    attributes = chat_params(kwargs, _CHAT_PARAMS)
    response_format = kwargs.get("response_format")
    if isinstance(response_format, type):  # `parse(response_format=SomeModel)`
        attributes[attr.OUTPUT_TYPE] = "json"
    elif response_format is not None and isinstance(format_type := _get(response_format, "type"), str):
        attributes[attr.OUTPUT_TYPE] = "json" if format_type.startswith("json") else "text"
    return Request("chat", _model(kwargs), _streaming(kwargs), attributes, lambda: _list(kwargs.get("messages")))


def completion_request(kwargs: Mapping[str, Any]) -> Request:
    return Request(
        "text_completion",
        _model(kwargs),
        _streaming(kwargs),
        chat_params(kwargs, _CHAT_PARAMS),
        lambda: kwargs.get("prompt"),
    )


def embeddings_request(kwargs: Mapping[str, Any]) -> Request:
    attributes: dict[str, AttributeValue] = {}
    encoding = kwargs.get("encoding_format")
    if isinstance(encoding, str):
        attributes[attr.REQUEST_ENCODING_FORMATS] = (encoding,)
    return Request("embeddings", _model(kwargs), False, attributes)


def responses_request(kwargs: Mapping[str, Any]) -> Request:
    attributes = clean(kwargs, _RESPONSES_PARAMS)
    conversation = kwargs.get("conversation")
    if isinstance(conversation, str):
        attributes[attr.CONVERSATION_ID] = conversation
    return Request("chat", _model(kwargs), _streaming(kwargs), attributes, lambda: _responses_input(kwargs))


def _responses_input(kwargs: Mapping[str, Any]) -> list[Any]:
    instructions = kwargs.get("instructions")
    content = kwargs.get("input")
    messages: list[Any] = [{"role": "system", "content": instructions}] if isinstance(instructions, str) else []
    if isinstance(content, str):
        messages.append({"role": "user", "content": content})
    elif isinstance(content, list):
        messages.extend(_list(content) or [])
    return messages


def _list(value: Any) -> list[Any] | None:
    if not isinstance(value, list | tuple):
        return None
    return [item.model_dump() if hasattr(item, "model_dump") else item for item in value]


_NOT_A_MODEL = object()


# --- usage ---------------------------------------------------------------------------------------------


_CHAT_USAGE = Fields("prompt_tokens", "completion_tokens", "prompt_tokens_details", "completion_tokens_details")


def chat_usage(usage: Any) -> Usage:
    """Chat and legacy completions: `prompt_tokens` already includes cached tokens (inclusive model)."""
    if usage is None:
        return Usage()
    prompt, completion, prompt_details, completion_details = _CHAT_USAGE(usage)
    cached = as_count(_get(prompt_details, "cached_tokens"))
    if cached is None:
        cached = as_count(_get(usage, "prompt_cache_hit_tokens"))  # DeepSeek
    # Positional (input, output, cache read, cache write, 1-hour cache write, reasoning): half a keyword call's cost.
    return Usage(
        as_count(prompt),
        as_count(completion),
        cached,
        None,
        None,
        as_count(_get(completion_details, "reasoning_tokens")),
    )


def responses_usage(usage: Any) -> Usage:
    if usage is None:
        return Usage()
    return Usage(
        input_tokens=as_count(_get(usage, "input_tokens")),
        output_tokens=as_count(_get(usage, "output_tokens")),
        cache_read_tokens=as_count(_get(_get(usage, "input_tokens_details"), "cached_tokens")),
        reasoning_tokens=as_count(_get(_get(usage, "output_tokens_details"), "reasoning_tokens")),
    )


def _reported_cost(usage: Any) -> Decimal | None:
    """OpenRouter's `usage.cost`: a field the SDK does not declare, so on its models it sits in the extras.

    Looked up directly (fields, then extras) because it is absent from nearly every response, and the generic
    reader's search for an absent name is its slowest path.
    """
    extra: Any = getattr(usage, "__pydantic_extra__", _NOT_A_MODEL)  # the sentinel, or a model's extras (dict or None)
    if extra is _NOT_A_MODEL:
        cost = _get(usage, "cost")
    else:
        cost = usage.__dict__.get("cost")
        if cost is None and extra:
            cost = extra.get("cost")
    if isinstance(cost, int | float | str) and not isinstance(cost, bool):
        try:
            value = Decimal(str(cost))
        except InvalidOperation:
            return None
        return value if value.is_finite() and value >= 0 else None
    return None


# --- responses -----------------------------------------------------------------------------------------


_PRICED_TIERS = frozenset({"flex", "priority", "fast"})  # OpenAI tiers billed at other than standard prices


def _price_variant(tier: Any) -> tuple[tuple[str, str], ...]:
    return (("service_tier", tier),) if tier in _PRICED_TIERS else ()


def _response_attributes(tier: Any, fingerprint: Any) -> dict[str, AttributeValue]:
    attributes: dict[str, AttributeValue] = {}
    if isinstance(tier, str):
        attributes[attr.OPENAI_RESPONSE_SERVICE_TIER] = tier
    if isinstance(fingerprint, str):
        attributes[attr.OPENAI_RESPONSE_SYSTEM_FINGERPRINT] = fingerprint
    return attributes


_CHAT_RESPONSE = Fields("id", "model", "choices", "usage", "service_tier", "system_fingerprint")


def chat_response(result: Any) -> Response:
    response_id, model, choices, usage, tier, fingerprint = _CHAT_RESPONSE(result)
    choices = choices or ()
    return Response(
        id=_str(response_id),
        model=_str(model),
        finish_reasons=[r for c in choices if isinstance(r := _get(c, "finish_reason"), str)],
        usage=chat_usage(usage),
        reported_cost=_reported_cost(usage),
        attributes=_response_attributes(tier, fingerprint),
        output_messages=lambda: [_message(c) for c in choices],
        price_variant=_price_variant(tier),
    )


def _message(choice: Any) -> Any:
    message = _get(choice, "message")
    if message is not None:
        return message.model_dump(exclude_none=True) if hasattr(message, "model_dump") else message
    return {"text": _get(choice, "text")}


def embeddings_response(result: Any) -> Response:
    usage = _get(result, "usage")
    return Response(
        model=_str(_get(result, "model")),
        usage=Usage(input_tokens=as_count(_get(usage, "prompt_tokens"))),
        reported_cost=_reported_cost(usage),
        attributes=embedding_attributes(result),
    )


def responses_response(result: Any) -> Response:
    usage = _get(result, "usage")
    status = _get(result, "status")
    output = _get(result, "output") or ()
    tier = _get(result, "service_tier")
    return Response(
        id=_str(_get(result, "id")),
        model=_str(_get(result, "model")),
        finish_reasons=[status] if isinstance(status, str) else None,
        usage=responses_usage(usage),
        reported_cost=_reported_cost(usage),
        attributes=_response_attributes(tier, _get(result, "system_fingerprint")),
        output_messages=lambda: [o.model_dump(exclude_none=True) if hasattr(o, "model_dump") else o for o in output],
        price_variant=_price_variant(tier),
    )


# --- streams -------------------------------------------------------------------------------------------


class ChatStreamReader:
    """Chat and legacy-completion chunks: id and model from any chunk, usage from the last one."""

    __slots__ = ("_finish", "_id", "_model", "_tier", "_usage", "usage_seen")

    def __init__(self) -> None:
        self._id: str | None = None
        self._model: str | None = None
        self._tier: str | None = None
        self._usage: Any = None
        self._finish: dict[int, str] = {}
        self.usage_seen = False

    def feed(self, chunk: Any) -> None:
        if self._id is None:
            self._id = chunk.id
            self._model = chunk.model
        usage = chunk.usage
        if usage is None:
            extra = getattr(chunk, "__pydantic_extra__", None)
            if extra:  # Groq reports stream usage under `x_groq`, a field the SDK does not declare
                usage = _get(extra.get("x_groq"), "usage")
        if usage is not None:
            self._usage = usage
            self.usage_seen = True
            self._tier = _str(getattr(chunk, "service_tier", None))
        for choice in chunk.choices:
            reason = choice.finish_reason
            if reason is not None:
                self._finish[choice.index] = reason

    def response(self) -> Response:
        attributes: dict[str, AttributeValue] = {}
        if self._tier:
            attributes[attr.OPENAI_RESPONSE_SERVICE_TIER] = self._tier
        return Response(
            id=self._id,
            model=self._model,
            finish_reasons=[self._finish[i] for i in sorted(self._finish)] or None,
            usage=chat_usage(self._usage),
            reported_cost=_reported_cost(self._usage),
            attributes=attributes,
            price_variant=_price_variant(self._tier),
        )


_FINAL_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})


class ResponsesStreamReader:
    """Responses API events: the final `response.completed` (or incomplete/failed) carries everything."""

    __slots__ = ("_final", "_started", "usage_seen")

    def __init__(self) -> None:
        self._started: Any = None
        self._final: Any = None
        self.usage_seen = False

    def feed(self, event: Any) -> None:
        kind = event.type
        if kind in _FINAL_EVENTS:
            self._final = event.response
            self.usage_seen = self._final.usage is not None
        elif kind == "response.created":
            self._started = event.response

    def response(self) -> Response:
        if self._final is not None:
            return responses_response(self._final)
        if self._started is not None:
            return Response(id=_str(_get(self._started, "id")), model=_str(_get(self._started, "model")))
        return Response()
