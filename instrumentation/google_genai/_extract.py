# SPDX-License-Identifier: Apache-2.0
"""Pure readers of google-genai requests, responses and stream chunks.

Gemini reports thinking outside its output: `candidates_token_count` excludes `thoughts_token_count`, so the
span contract's output is their sum, with the thoughts as reasoning. Input is `prompt_token_count` plus
`tool_use_prompt_token_count` (the tool results fed back), and `cached_content_token_count` is the part of
the prompt read from the cache. The interactions API reports the same split under other names.
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

_CONFIG = {
    "max_output_tokens": attr.REQUEST_MAX_TOKENS,
    "temperature": attr.REQUEST_TEMPERATURE,
    "top_p": attr.REQUEST_TOP_P,
    "top_k": attr.REQUEST_TOP_K,
    "frequency_penalty": attr.REQUEST_FREQUENCY_PENALTY,
    "presence_penalty": attr.REQUEST_PRESENCE_PENALTY,
    "seed": attr.REQUEST_SEED,
    "stop_sequences": attr.REQUEST_STOP_SEQUENCES,
    "candidate_count": attr.REQUEST_CHOICE_COUNT,
}


def model_name(model: Any) -> str | None:
    """`models/gemini-2.5-flash` and Vertex resource names (`projects/…/models/gemini-2.5-flash`) alike."""
    if not isinstance(model, str) or not model:
        return None
    return model.rsplit("/", 1)[-1]


# --- requests ------------------------------------------------------------------------------------------


def generate_request(kwargs: Mapping[str, Any]) -> Request:
    return Request(
        "generate_content",
        model_name(kwargs.get("model")),
        False,
        clean(kwargs.get("config"), _CONFIG),
        lambda: _dump(kwargs.get("contents")),
    )


def stream_request(kwargs: Mapping[str, Any]) -> Request:
    request = generate_request(kwargs)
    request.streaming = True
    return request


def embed_request(kwargs: Mapping[str, Any]) -> Request:
    return Request("embeddings", model_name(kwargs.get("model")), False, {})


def cache_request(kwargs: Mapping[str, Any]) -> Request:
    return Request("create_cached_content", model_name(kwargs.get("model")), False, {})


def interaction_request(kwargs: Mapping[str, Any]) -> Request:
    body = kwargs.get("request")
    params: Any = body if body is not None else kwargs
    return Request(
        "chat",
        model_name(_get(params, "model")),
        _get(params, "stream") is True,
        clean(_get(params, "generation_config"), _CONFIG),
        lambda: _dump(_get(params, "input")),
    )


# --- usage ---------------------------------------------------------------------------------------------


def usage_of(metadata: Any) -> Usage:
    """generate_content's `usage_metadata`."""
    return _usage(
        metadata,
        "prompt_token_count",
        "tool_use_prompt_token_count",
        "candidates_token_count",
        "thoughts_token_count",
        "cached_content_token_count",
    )


def interaction_usage(usage: Any) -> Usage:
    """The interactions API's `usage`: the same counts under other names."""
    return _usage(
        usage,
        "total_input_tokens",
        "total_tool_use_tokens",
        "total_output_tokens",
        "total_thought_tokens",
        "total_cached_tokens",
    )


def _usage(source: Any, prompt: str, tool_use: str, generated: str, thoughts: str, cached: str) -> Usage:
    """Gemini counts tool-use prompt tokens outside the prompt and thoughts outside the output: add them in."""
    if source is None:
        return Usage()
    prompt_count = as_count(_get(source, prompt))
    tool_use_count = as_count(_get(source, tool_use))
    generated_count = as_count(_get(source, generated))
    thoughts_count = as_count(_get(source, thoughts))
    output = (
        None if generated_count is None and thoughts_count is None else (generated_count or 0) + (thoughts_count or 0)
    )
    return Usage(
        input_tokens=None if prompt_count is None else prompt_count + (tool_use_count or 0),
        output_tokens=output,
        cache_read_tokens=as_count(_get(source, cached)),
        reasoning_tokens=thoughts_count,
    )


# --- responses -----------------------------------------------------------------------------------------


def _finish_reasons(candidates: Any) -> list[str]:
    reasons = []
    for candidate in candidates or ():
        reason = _get(candidate, "finish_reason")
        name = getattr(reason, "name", reason)  # an enum in the SDK, a string in a dict
        if isinstance(name, str):
            reasons.append(name.lower())
    return reasons


def generate_response(result: Any) -> Response:
    candidates = _get(result, "candidates") or ()
    return Response(
        id=_str(_get(result, "response_id")),
        model=model_name(_get(result, "model_version")),
        finish_reasons=_finish_reasons(candidates) or None,
        usage=usage_of(_get(result, "usage_metadata")),
        output_messages=lambda: [_dump(_get(c, "content")) for c in candidates],
    )


def embed_response(result: Any) -> Response:
    """Vertex AI counts tokens per embedding (`statistics.token_count`); the Gemini API reports none."""
    embeddings = _get(result, "embeddings") or ()
    attributes: dict[str, AttributeValue] = {}
    counts = [as_count(_get(_get(e, "statistics"), "token_count")) for e in embeddings]
    if embeddings:
        values = _get(embeddings[0], "values")
        if isinstance(values, list):
            attributes[attr.EMBEDDINGS_DIMENSION_COUNT] = len(values)
    known = [c for c in counts if c is not None]
    return Response(
        usage=Usage(input_tokens=sum(known)) if known and len(known) == len(counts) else Usage(),
        attributes=attributes,
    )


def cache_response(result: Any) -> Response:
    """Creating a cache bills the tokens it caches once, at the model's input price, as cache writes (Google's
    context caching documentation: "billed for the input tokens used to create the cache at the standard input
    token price"). Keeping the cache is billed by the hour over its TTL besides, which no per-call price covers
    and is left out."""
    count = as_count(_get(_get(result, "usage_metadata"), "total_token_count"))
    return Response(
        model=model_name(_get(result, "model")),
        usage=Usage(input_tokens=count, cache_write_tokens=count) if count is not None else Usage(),
        attributes={attr.GCP_GEMINI_CACHED_CONTENT_TOKENS: count} if count is not None else {},
    )


def interaction_response(result: Any) -> Response:
    status = _str(_get(result, "status"))
    return Response(
        id=_str(_get(result, "id")),
        model=model_name(_get(result, "model")),
        finish_reasons=[status] if status else None,
        usage=interaction_usage(_get(result, "usage")),
        output_messages=lambda: _dump(_get(result, "steps")),
    )


# --- streams -------------------------------------------------------------------------------------------


class GenerateStreamReader:
    """Every chunk repeats the usage so far; the chunk with a finish reason holds the final count.

    A stream left before that chunk records no usage (and no cost) and is flagged incomplete, as on every
    provider: its partial counts would undercount output without saying so.
    """

    __slots__ = ("_finish", "_id", "_model", "_usage", "usage_seen")

    def __init__(self) -> None:
        self._id: str | None = None
        self._model: str | None = None
        self._usage: Any = None
        self._finish: list[str] = []
        self.usage_seen = False

    def feed(self, chunk: Any) -> None:
        # Runs per chunk. Chunks are SDK models whose fields are all declared, so plain attribute reads are safe
        # and several times cheaper than the generic reader; id and model are read only until found.
        if self._id is None:
            self._id = _str(getattr(chunk, "response_id", None))
        if self._model is None:
            self._model = model_name(getattr(chunk, "model_version", None))
        metadata = getattr(chunk, "usage_metadata", None)
        if metadata is not None:
            self._usage = metadata
        candidates = getattr(chunk, "candidates", None)
        if candidates:
            for candidate in candidates:
                if getattr(candidate, "finish_reason", None) is not None:
                    self._finish = _finish_reasons(candidates)
                    self.usage_seen = self._usage is not None
                    break

    def response(self) -> Response:
        return Response(
            id=self._id,
            model=self._model,
            finish_reasons=self._finish or None,
            usage=usage_of(self._usage) if self.usage_seen else Usage(),
        )


class InteractionStreamReader:
    """Interaction events: each `interaction.completed` ends one hop with that hop's usage; hops add up."""

    __slots__ = ("_id", "_model", "_status", "_usages", "usage_seen")

    def __init__(self) -> None:
        self._id: str | None = None
        self._model: str | None = None
        self._status: str | None = None
        self._usages: list[Usage] = []
        self.usage_seen = False

    def feed(self, event: Any) -> None:
        interaction = _get(event, "interaction")
        if interaction is None:
            return
        self._id = _str(_get(interaction, "id")) or self._id
        self._model = model_name(_get(interaction, "model")) or self._model
        if _get(event, "event_type") == "interaction.completed" or _get(event, "type") == "interaction.completed":
            self._status = _str(_get(interaction, "status"))
            self._usages.append(interaction_usage(_get(interaction, "usage")))
            self.usage_seen = self._status != "requires_continuation"

    def response(self) -> Response:
        return Response(
            id=self._id,
            model=self._model,
            finish_reasons=[self._status] if self._status else None,
            usage=_sum(self._usages) if self.usage_seen else Usage(),
        )


def _sum(usages: list[Usage]) -> Usage:
    def total(name: str) -> int | None:
        values = [getattr(u, name) for u in usages if getattr(u, name) is not None]
        return sum(values) if values else None

    return Usage(
        input_tokens=total("input_tokens"),
        output_tokens=total("output_tokens"),
        cache_read_tokens=total("cache_read_tokens"),
        reasoning_tokens=total("reasoning_tokens"),
    )
