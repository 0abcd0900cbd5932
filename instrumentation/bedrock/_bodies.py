# SPDX-License-Identifier: Apache-2.0
"""Pure readers of `InvokeModel` bodies: each model family sends and answers its own JSON.

The families are told apart by the shape of the body, never by the model id, so that inference profiles, ARNs
and models added later read the same way. Request → response (and stream chunk):

- Anthropic Claude: `messages`, `max_tokens` (Claude 2: `prompt`, `max_tokens_to_sample`) → `usage` with
  `input_tokens`, `stop_reason` (Claude 2: `completion`).
- Amazon Nova: `messages`, `inferenceConfig.maxTokens` or `max_new_tokens` → `usage` with `inputTokens`,
  `stopReason`; streams: `messageStop`, `metadata.usage`.
- Amazon Titan: `inputText`, `textGenerationConfig.maxTokenCount` → `inputTextTokenCount`,
  `results[].tokenCount`, `completionReason`; streams: `totalOutputTextTokenCount` in the last chunk.
- Meta Llama: `prompt`, `max_gen_len` → `prompt_token_count`, `generation_token_count`, `stop_reason`.
- Mistral: `prompt`, `max_tokens` → `outputs[].stop_reason`.
- Cohere: `prompt` or `message`, `max_tokens`, `p`, `k` → `generations[].finish_reason` or `finish_reason`.
- AI21: Jurassic `prompt`, `maxTokens` → `completions[].finishReason.reason`; Jamba `messages` → `choices`,
  `usage` with `prompt_tokens`.
- DeepSeek and OpenAI-style bodies: `prompt` or `messages`, `max_tokens` → `choices[].finish_reason` or
  `stop_reason`, `usage` with `prompt_tokens`.

Where a body reports no usage (Mistral, Cohere, AI21 Jurassic), Bedrock's billing headers and stream metrics
still do (`_usage`). Unknown values stay None.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.util.types import AttributeValue

from llmledger._core import attributes as attr
from llmledger._core.usage import Usage, as_count

from .._shared.fields import text as _str
from .._shared.invocation import clean
from ..anthropic._extract import usage_of as anthropic_usage
from ..openai._extract import chat_usage
from . import _usage

_PARAMS = {
    "max_tokens": attr.REQUEST_MAX_TOKENS,
    "max_tokens_to_sample": attr.REQUEST_MAX_TOKENS,
    "max_gen_len": attr.REQUEST_MAX_TOKENS,
    "max_new_tokens": attr.REQUEST_MAX_TOKENS,
    "maxTokens": attr.REQUEST_MAX_TOKENS,
    "maxTokenCount": attr.REQUEST_MAX_TOKENS,
    "max_completion_tokens": attr.REQUEST_MAX_TOKENS,
    "temperature": attr.REQUEST_TEMPERATURE,
    "top_p": attr.REQUEST_TOP_P,
    "topP": attr.REQUEST_TOP_P,
    "p": attr.REQUEST_TOP_P,
    "top_k": attr.REQUEST_TOP_K,
    "topK": attr.REQUEST_TOP_K,
    "k": attr.REQUEST_TOP_K,
    "stop_sequences": attr.REQUEST_STOP_SEQUENCES,
    "stopSequences": attr.REQUEST_STOP_SEQUENCES,
    "stop": attr.REQUEST_STOP_SEQUENCES,
    "frequency_penalty": attr.REQUEST_FREQUENCY_PENALTY,
    "presence_penalty": attr.REQUEST_PRESENCE_PENALTY,
    "seed": attr.REQUEST_SEED,
}
# Where families nest their inference parameters (Nova, Titan).
_NESTED = ("inferenceConfig", "textGenerationConfig")


def parse(body: Any) -> Any:
    """A JSON body (bytes or text) as Python values; None when it is not one (a file object is never read)."""
    if isinstance(body, memoryview):
        body = bytes(body)
    if isinstance(body, bytes | bytearray):
        try:
            body = body.decode()  # UTF-8, as Bedrock sends it: a third faster than json.loads sniffing the bytes
        except ValueError:
            return None
    if isinstance(body, str):
        try:
            return json.loads(body)
        except ValueError:
            return None
    return None


# --- requests ------------------------------------------------------------------------------------------


def operation(model_id: str | None, body: Any) -> str:
    """The GenAI operation a body asks for: embeddings, a chat, or a text completion."""
    if model_id and "embed" in model_id.lower():
        return "embeddings"
    if isinstance(body, Mapping) and "messages" not in body and ("prompt" in body or "inputText" in body):
        return "text_completion"
    return "chat"


def request_attributes(body: Any) -> dict[str, AttributeValue]:
    """The inference parameters of a request body, from its top level first, then its nested configs."""
    if not isinstance(body, Mapping):
        return {}
    found: dict[str, AttributeValue] = {}
    for level in (*(body.get(name) for name in _NESTED), body):  # the top level last: it wins
        if isinstance(level, Mapping):
            found.update(clean(dict(level), _PARAMS))
    return found


def input_messages(body: Any) -> list[Any]:
    if not isinstance(body, Mapping):
        return []
    messages: list[Any] = []
    system = body.get("system")
    if system:
        messages.append({"role": "system", "content": system})
    for key in ("chat_history", "messages"):
        if isinstance(body.get(key), list):
            messages.extend(body[key])
    for key in ("message", "prompt", "inputText", "texts"):
        if body.get(key) is not None:
            messages.append({"role": "user", "content": body[key]})
    return messages


# --- responses and stream chunks ---------------------------------------------------------------------


def usage(body: Any) -> Usage | None:
    """The usage a response body (or stream chunk) reports in its family's shape; None when it reports none."""
    if not isinstance(body, Mapping):
        return None
    reported = body.get("usage")
    found: Usage | None = None
    if isinstance(reported, Mapping):
        if "input_tokens" in reported or "output_tokens" in reported:
            found = anthropic_usage(reported)
        elif "inputTokens" in reported or "outputTokens" in reported:
            found = _usage.from_converse(reported)
        elif "prompt_tokens" in reported or "completion_tokens" in reported:
            found = chat_usage(reported)
    elif "inputTextTokenCount" in body or "totalOutputTextTokenCount" in body:  # Titan
        output = as_count(body.get("totalOutputTextTokenCount"))
        results = body.get("results")
        if output is None and isinstance(results, list) and results:
            counts = [as_count(r.get("tokenCount")) if isinstance(r, Mapping) else None for r in results]
            output = None if None in counts else sum(c or 0 for c in counts)
        found = _usage.billed(as_count(body.get("inputTextTokenCount")), output)
    elif "prompt_token_count" in body or "generation_token_count" in body:  # Llama
        found = _usage.billed(as_count(body.get("prompt_token_count")), as_count(body.get("generation_token_count")))
    return None if found is None or found.is_empty else found


def finish_reasons(body: Any) -> list[str] | None:
    """Why the model stopped, as each family says it; None when the body does not say (yet)."""
    if not isinstance(body, Mapping):
        return None
    for key in _REASON_KEYS:
        reason = _str(body.get(key))
        if reason:
            return [reason]
    stop = body.get("messageStop")
    if isinstance(stop, Mapping) and _str(stop.get("stopReason")):
        return [stop["stopReason"]]
    for key, names in _LISTED_REASONS:
        items = body.get(key)
        if isinstance(items, list) and items:
            reasons = [_listed_reason(item, names) for item in items]
            if any(reasons):
                return [reason or "" for reason in reasons]
    return None


# (list key, the names its items give their reason under): Titan, Mistral, Cohere, OpenAI-style/DeepSeek, AI21.
_LISTED_REASONS: Sequence[tuple[str, tuple[str, ...]]] = (
    ("results", ("completionReason",)),
    ("outputs", ("stop_reason",)),
    ("generations", ("finish_reason",)),
    ("choices", ("finish_reason", "stop_reason")),
    ("completions", ("finishReason",)),
)


_REASON_KEYS = ("stop_reason", "stopReason", "completionReason", "finish_reason")
# Every top-level key `usage` and `finish_reasons` read: a body that names none of them tells them nothing.
READ_KEYS = (
    "usage",
    "inputTextTokenCount",
    "totalOutputTextTokenCount",
    "prompt_token_count",
    "generation_token_count",
    *_REASON_KEYS,
    "messageStop",
    *(key for key, _ in _LISTED_REASONS),
)


def _listed_reason(item: Any, names: tuple[str, ...]) -> str | None:
    if not isinstance(item, Mapping):
        return None
    for name in names:
        reason = item.get(name)
        if isinstance(reason, Mapping):  # AI21 Jurassic: {"reason": "endoftext", "length": …}
            reason = reason.get("reason")
        if _str(reason):
            return str(reason)
    return None


def response_id(body: Any) -> str | None:
    if not isinstance(body, Mapping):
        return None
    return _str(body.get("id")) or _str(body.get("response_id"))


def response_model(body: Any) -> str | None:
    return _str(body.get("model")) if isinstance(body, Mapping) else None


def output_messages(body: Any) -> list[Any]:
    """The model's answer in a response body, as messages, whatever the family."""
    if not isinstance(body, Mapping):
        return []
    output = body.get("output")
    if isinstance(output, Mapping) and output.get("message") is not None:  # Nova
        return [output["message"]]
    if isinstance(body.get("content"), list):  # Claude
        return [{"role": "assistant", "content": body["content"]}]
    if isinstance(body.get("choices"), list):  # OpenAI-style, Jamba, DeepSeek
        return [c.get("message") or {"role": "assistant", "content": c.get("text")} for c in _mappings(body["choices"])]
    for key, field in (("results", "outputText"), ("outputs", "text"), ("generations", "text")):
        if isinstance(body.get(key), list):  # Titan, Mistral, Cohere
            return [{"role": "assistant", "content": item.get(field)} for item in _mappings(body[key])]
    if isinstance(body.get("completions"), list):  # AI21 Jurassic
        completions = _mappings(body["completions"])
        return [{"role": "assistant", "content": (c.get("data") or {}).get("text")} for c in completions]
    for key in ("completion", "generation", "text"):  # Claude 2, Llama, Cohere Command R
        if body.get(key) is not None:
            return [{"role": "assistant", "content": body[key]}]
    return []


def _mappings(items: list[Any]) -> list[Mapping[str, Any]]:
    return [item for item in items if isinstance(item, Mapping)]
