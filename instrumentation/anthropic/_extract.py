# SPDX-License-Identifier: Apache-2.0
"""Pure readers of Anthropic SDK requests, messages and stream events.

Anthropic's `input_tokens` counts only the input that was neither read from nor written to the prompt cache,
so the inclusive input of the span contract is `input_tokens + cache_read_input_tokens +
cache_creation_input_tokens`. Cache writes are split by TTL (`cache_creation.ephemeral_1h_input_tokens` is
priced higher than the five-minute writes), and `output_tokens_details.thinking_tokens`, where the API
reports it, is the reasoning part of the output. Unknown values stay None.

How the call was served sets its price: `usage.service_tier == "batch"` (a Message Batches result) is priced at
genai-prices' `processing=batch` variant, `usage.speed == "fast"` at its `speed=fast` variant. The priority tier
is billed against a capacity commitment, not a per-token list price, and a US-only `inference_geo` uplift is not in
genai-prices: both are recorded on the span and priced at the standard rate.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.util.types import AttributeValue

from llmledger._core import attributes as attr
from llmledger._core.usage import Usage, as_count

from .._shared.fields import field as _get
from .._shared.fields import text as _str
from .._shared.invocation import Request, Response, clean

_PARAMS = {
    "max_tokens": attr.REQUEST_MAX_TOKENS,
    "temperature": attr.REQUEST_TEMPERATURE,
    "top_p": attr.REQUEST_TOP_P,
    "top_k": attr.REQUEST_TOP_K,
    "stop_sequences": attr.REQUEST_STOP_SEQUENCES,
    "service_tier": attr.ANTHROPIC_REQUEST_SERVICE_TIER,
    "speed": attr.ANTHROPIC_REQUEST_SPEED,
    "inference_geo": attr.ANTHROPIC_REQUEST_INFERENCE_GEO,
}
_USAGE_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
    "cache_creation",
    "output_tokens_details",
    "service_tier",
    "speed",
    "inference_geo",
)
_SERVED = (
    ("service_tier", attr.ANTHROPIC_RESPONSE_SERVICE_TIER),
    ("speed", attr.ANTHROPIC_RESPONSE_SPEED),
    ("inference_geo", attr.ANTHROPIC_RESPONSE_INFERENCE_GEO),
)


def _model(kwargs: Mapping[str, Any]) -> str | None:
    return _str(kwargs.get("model"))


# --- requests ------------------------------------------------------------------------------------------


def messages_request(kwargs: Mapping[str, Any]) -> Request:
    return Request(
        "chat",
        _model(kwargs),
        kwargs.get("stream") is True,
        clean(kwargs, _PARAMS),
        lambda: _input_messages(kwargs),
    )


def stream_helper_request(kwargs: Mapping[str, Any]) -> Request:
    """`messages.stream()` always streams, without a `stream` argument."""
    request = messages_request(kwargs)
    request.streaming = True
    return request


def count_tokens_request(kwargs: Mapping[str, Any]) -> Request:
    return Request("count_tokens", _model(kwargs), False, {}, lambda: _input_messages(kwargs))


def _input_messages(kwargs: Mapping[str, Any]) -> list[Any]:
    system = kwargs.get("system")
    messages: list[Any] = []
    if isinstance(system, str):
        messages.append({"role": "system", "content": system})
    elif isinstance(system, list | tuple):
        messages.append({"role": "system", "content": list(system)})
    content = kwargs.get("messages")
    if isinstance(content, list | tuple):
        messages.extend(item.model_dump() if hasattr(item, "model_dump") else item for item in content)
    return messages


# --- usage ---------------------------------------------------------------------------------------------


def usage_of(usage: Any) -> Usage:
    """Anthropic usage (a model or a dict) in the inclusive model of the span contract."""
    if usage is None:
        return Usage()
    uncached = as_count(_get(usage, "input_tokens"))
    cache_read = as_count(_get(usage, "cache_read_input_tokens"))
    cache_write = as_count(_get(usage, "cache_creation_input_tokens"))
    creation = _get(usage, "cache_creation")
    write_1h = as_count(_get(creation, "ephemeral_1h_input_tokens"))
    if cache_write is None and creation is not None:
        write_5m = as_count(_get(creation, "ephemeral_5m_input_tokens"))
        if write_5m is not None or write_1h is not None:
            cache_write = (write_5m or 0) + (write_1h or 0)
    total_input = None if uncached is None else uncached + (cache_read or 0) + (cache_write or 0)
    return Usage(
        input_tokens=total_input,
        output_tokens=as_count(_get(usage, "output_tokens")),
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        cache_write_1h_tokens=write_1h,
        reasoning_tokens=as_count(_get(_get(usage, "output_tokens_details"), "thinking_tokens")),
    )


def _usage_attributes(usage: Any) -> dict[str, AttributeValue]:
    """How the call was served, as the usage reports it (tier, speed, where inference ran)."""
    attributes: dict[str, AttributeValue] = {}
    for field, key in _SERVED:
        value = _str(_get(usage, field))
        if value:
            attributes[key] = value
    return attributes


def price_variant(usage: Any) -> tuple[tuple[str, str], ...]:
    """The genai-prices variant for how the call was served: batch results and fast mode are priced differently."""
    variant: list[tuple[str, str]] = []
    if _get(usage, "service_tier") == "batch":
        variant.append(("processing", "batch"))
    if _get(usage, "speed") == "fast":
        variant.append(("speed", "fast"))
    return tuple(variant)


# --- responses -----------------------------------------------------------------------------------------


def message_response(result: Any) -> Response:
    usage = _get(result, "usage")
    stop = _str(_get(result, "stop_reason"))
    content = _get(result, "content") or ()
    return Response(
        id=_str(_get(result, "id")),
        model=_str(_get(result, "model")),
        finish_reasons=[stop] if stop else None,
        usage=usage_of(usage),
        attributes=_usage_attributes(usage),
        price_variant=price_variant(usage),
        output_messages=lambda: [
            {"role": "assistant", "content": [b.model_dump() if hasattr(b, "model_dump") else b for b in content]}
        ],
    )


def count_tokens_response(result: Any) -> Response:
    """A token count is a measurement, not a use: it goes in its own attribute, never into usage or cost."""
    count = as_count(_get(result, "input_tokens"))
    attributes: dict[str, AttributeValue] = {}
    if count is not None:
        attributes[attr.ANTHROPIC_COUNT_TOKENS_INPUT_TOKENS] = count
    return Response(attributes=attributes)


# --- streams -------------------------------------------------------------------------------------------


class MessageStreamReader:
    """Raw stream events: `message_start` gives id, model and input usage; the final `message_delta` gives
    the stop reason and output usage (newer APIs repeat the input and cache counts there, which then win).

    Usage counts as seen only once a `message_delta` with usage arrived: a stream left before it has no
    output count, so it records no usage (and no cost) and is flagged incomplete, as on every provider.
    """

    __slots__ = ("_id", "_model", "_stop", "_usage", "usage_seen")

    def __init__(self) -> None:
        self._id: str | None = None
        self._model: str | None = None
        self._stop: str | None = None
        self._usage: dict[str, Any] = {}
        self.usage_seen = False

    def feed(self, event: Any) -> None:
        kind = _get(event, "type")
        if kind == "message_start":
            message = _get(event, "message")
            self._id = _str(_get(message, "id"))
            self._model = _str(_get(message, "model"))
            self._overlay(_get(message, "usage"))
        elif kind == "message_delta":
            self._stop = _str(_get(_get(event, "delta"), "stop_reason")) or self._stop
            usage = _get(event, "usage")
            if usage is not None:
                self._overlay(usage)
                self.usage_seen = True

    def _overlay(self, usage: Any) -> None:
        for name in _USAGE_FIELDS:
            value = _get(usage, name)
            if value is not None:
                self._usage[name] = value

    def response(self) -> Response:
        usage = self._usage if self.usage_seen else None
        return Response(
            id=self._id,
            model=self._model,
            finish_reasons=[self._stop] if self._stop else None,
            usage=usage_of(usage),
            attributes=_usage_attributes(self._usage),
            price_variant=price_variant(self._usage),
        )
