# SPDX-License-Identifier: Apache-2.0
"""Pure readers of LiteLLM calls: the provider a call is routed to, its request, its response and stream chunks.

LiteLLM answers in OpenAI's shapes whatever the provider (`ModelResponse`, `EmbeddingResponse`,
`TextCompletionResponse`) and normalises usage to OpenAI's inclusive model: `prompt_tokens` holds the cached
tokens (`prompt_tokens_details.cached_tokens`) and, for Anthropic, the cache writes it also reports as
`cache_creation_input_tokens`. Reasoning is `completion_tokens_details.reasoning_tokens`, part of the completion.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from llmledger._core.usage import Usage, as_count

from .._shared.fields import dump as _dump
from .._shared.fields import embedding_attributes
from .._shared.fields import field as _get
from .._shared.fields import text as _str
from .._shared.invocation import Request, Response, chat_params

# LiteLLM's provider names → the GenAI semantic conventions' `gen_ai.provider.name` (what prices are keyed by);
# a name not here is kept as LiteLLM spells it.
PROVIDERS: Mapping[str, str] = {
    "openai": "openai",
    "text-completion-openai": "openai",
    "azure": "azure.ai.openai",
    "azure_text": "azure.ai.openai",
    "anthropic": "anthropic",
    "bedrock": "aws.bedrock",
    "bedrock_converse": "aws.bedrock",
    "vertex_ai": "gcp.vertex_ai",
    "vertex_ai_beta": "gcp.vertex_ai",
    "gemini": "gcp.gemini",
    "mistral": "mistral_ai",
    "codestral": "mistral_ai",
    "cohere": "cohere",
    "cohere_chat": "cohere",
    "groq": "groq",
    "deepseek": "deepseek",
    "xai": "x_ai",
    "together_ai": "together",
    "openrouter": "openrouter",
    "perplexity": "perplexity",
    "fireworks_ai": "fireworks",
    "cerebras": "cerebras",
    "ollama": "ollama",
    "ollama_chat": "ollama",
    "hosted_vllm": "vllm",
    "vllm": "vllm",
}
# Providers that refuse `stream_options` (their streams report usage unasked): not asked, as for the OpenAI SDK.
REFUSES_STREAM_OPTIONS = frozenset({"mistral_ai", "perplexity"})


def route(kwargs: Mapping[str, Any]) -> tuple[str, str | None, str | None, int | None]:
    """(provider, model as the provider knows it, server host, port) of a call, by LiteLLM's own routing
    (`litellm.get_llm_provider`); the model's `provider/` prefix when that fails."""
    model = kwargs.get("model")
    model = model if isinstance(model, str) else None
    api_base = kwargs.get("api_base") or kwargs.get("base_url")
    provider: str | None = _str(kwargs.get("custom_llm_provider"))
    routed = model
    if model:
        try:
            litellm = importlib.import_module("litellm")  # imported already: this runs in its calls
            routed, provider, _, resolved_base = litellm.get_llm_provider(
                model=model, custom_llm_provider=provider or None, api_base=api_base
            )
            api_base = api_base or resolved_base
        except Exception:  # a model LiteLLM cannot route: it raises the same to the app
            if not provider and "/" in model:
                provider, routed = model.split("/", 1)
    host, port = _server(api_base)
    name = provider.strip().lower() if provider else "litellm"
    return PROVIDERS.get(name, name), routed or model, host, port


def _server(api_base: Any) -> tuple[str | None, int | None]:
    if not isinstance(api_base, str) or not api_base:
        return None, None
    try:
        parts = urlsplit(api_base)
        return parts.hostname, parts.port
    except ValueError:
        return None, None


def chat_request(kwargs: Mapping[str, Any], model: str | None) -> Request:
    return Request(
        "chat",
        model,
        kwargs.get("stream") is True,
        chat_params(kwargs),
        lambda: _dump(list(kwargs.get("messages") or ())),
    )


def text_completion_request(kwargs: Mapping[str, Any], model: str | None) -> Request:
    return Request(
        "text_completion",
        model,
        kwargs.get("stream") is True,
        chat_params(kwargs),
        lambda: [{"role": "user", "content": kwargs.get("prompt")}],
    )


def embedding_request(kwargs: Mapping[str, Any], model: str | None) -> Request:
    return Request("embeddings", model, False, {})


def usage_of(usage: Any) -> Usage:
    """LiteLLM's usage (OpenAI's inclusive model): cached reads from `prompt_tokens_details`, else Anthropic's
    `cache_read_input_tokens`; cache writes from `cache_creation_input_tokens`."""
    if usage is None:
        return Usage()
    prompt_details = _get(usage, "prompt_tokens_details")
    completion_details = _get(usage, "completion_tokens_details")
    cache_read = as_count(_get(prompt_details, "cached_tokens"))
    if not cache_read:
        cache_read = as_count(_get(usage, "cache_read_input_tokens")) or cache_read
    cache_write = as_count(_get(usage, "cache_creation_input_tokens"))
    if cache_write is None:
        cache_write = as_count(_get(prompt_details, "cache_creation_tokens"))
    return Usage(
        input_tokens=as_count(_get(usage, "prompt_tokens")),
        output_tokens=as_count(_get(usage, "completion_tokens")),
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write or None,
        reasoning_tokens=as_count(_get(completion_details, "reasoning_tokens")),
    )


def _own(obj: Any, name: str) -> Any:
    """`field(obj, name)` for a chunk's `usage` and a choice's `finish_reason`, read on every chunk: LiteLLM declares
    neither on its chunk models, which keep them among pydantic's extras when present, so those are looked in
    first, and only what is in neither (a dict, another object) goes the general way."""
    extra = getattr(obj, "__pydantic_extra__", None)
    if extra.__class__ is dict:
        own = obj.__dict__
        if name in own:
            return own[name]
        return extra.get(name)
    return _get(obj, name)


def _finish_reasons(choices: Any) -> list[str]:
    return [reason for choice in choices or () if isinstance(reason := _own(choice, "finish_reason"), str)]


def completion_response(result: Any) -> Response:
    """A chat or text completion: id, model, finish reasons and usage."""
    choices = _get(result, "choices") or ()
    return Response(
        id=_str(_get(result, "id")),
        model=_str(_get(result, "model")),
        finish_reasons=_finish_reasons(choices),
        usage=usage_of(_get(result, "usage")),
        output_messages=lambda: [
            _dump(_get(choice, "message") or {"text": _get(choice, "text")}) for choice in choices
        ],
    )


def embedding_response(result: Any) -> Response:
    """An embedding counts its input; the output is vectors, not tokens."""
    usage = _get(result, "usage")
    return Response(
        model=_str(_get(result, "model")),
        usage=Usage(input_tokens=as_count(_get(usage, "prompt_tokens"))),
        attributes=embedding_attributes(result),
    )


class StreamReader:
    """Chat and text-completion chunks alike: id and model from the first chunk, finish reasons as they come,
    usage from the chunk that carries it (the last, when asked for with `include_usage`)."""

    __slots__ = ("_finish", "_id", "_model", "_usage", "usage_seen")

    def __init__(self) -> None:
        self._id: str | None = None
        self._model: str | None = None
        self._usage: Any = None
        self._finish: list[str] = []
        self.usage_seen = False

    def feed(self, chunk: Any) -> None:
        if self._id is None:
            self._id = _str(_get(chunk, "id"))
            self._model = _str(_get(chunk, "model"))
        usage = _own(chunk, "usage")
        if usage is not None and _get(usage, "prompt_tokens") is not None:
            self._usage = usage
            self.usage_seen = True
        self._finish += _finish_reasons(_get(chunk, "choices"))

    def response(self) -> Response:
        return Response(
            id=self._id,
            model=self._model,
            finish_reasons=self._finish or None,
            usage=usage_of(self._usage),
        )
