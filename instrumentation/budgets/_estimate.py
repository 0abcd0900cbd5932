# SPDX-License-Identifier: Apache-2.0
"""The most a call can cost, known before it is sent: what a budget reserves.

Input: one token per ``BYTES_PER_TOKEN`` bytes of the call's arguments (messages, system prompt, tools,
response schema, …) encoded as UTF-8 JSON, plus ``CALL_TOKENS`` per call, ``TOOLS_TOKENS`` when tools or a
structured output format are given, and ``IMAGE_TOKENS`` for each image part. Tokenizers give English
about four characters per token and CJK about one character (three UTF-8 bytes), and the JSON punctuation
around each message stands in for the tokens a provider adds per message. Output: the request's
``max_tokens`` / ``max_completion_tokens`` / ``max_output_tokens`` times ``n``, or ``default_output_tokens``
when the request sets none. Embeddings and token counting produce no output tokens. Priced at the input tier
the estimate falls into, with no cache discount.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from llmledger._core import attributes as attr
from llmledger._core.cost import compute
from llmledger._core.prices import lookup_ns
from llmledger._core.usage import Usage

if TYPE_CHECKING:  # the span lifecycle (and the OTel SDK behind it) stays out of `import llmledger`
    from .._shared.invocation import Request

_log = logging.getLogger(__name__)

BYTES_PER_TOKEN = 3
# An image part, whatever its size: OpenAI's gpt-4o bills a high-detail image up to 1,445 tokens, Anthropic
# about 1,600 at most, Gemini 258.
IMAGE_TOKENS = 1600
# Providers wrap the request in tokens of their own: a few per message and per call, and with tools a system
# prompt that explains them (Anthropic documents 313-346 tokens for it) or the structured output format.
CALL_TOKENS = 16
TOOLS_TOKENS = 500
DEFAULT_OUTPUT_TOKENS = 4096
_NO_OUTPUT = frozenset({"embeddings", "count_tokens", "create_cached_content"})
_FREE = frozenset({"count_tokens"})
# Keys under which the OpenAI, Anthropic, Gemini and Bedrock APIs take tools or an output schema, at any depth.
_INSTRUCTED = ("tools", "toolConfig", "output_format", "response_format", "response_schema", "responseSchema")
_IMAGE_TYPES = frozenset({"image_url", "input_image", "image"})
_IMAGE_KEYS = frozenset({"image_url", "inline_data", "inlineData"})


def worst_case(
    provider: str, request: Request, arguments: Mapping[str, Any], unix_ns: int, default_output_tokens: int
) -> Decimal | None:
    """USD upper bound for the call made with `arguments`, or None when its model has no known price."""
    if request.operation in _FREE:
        return Decimal(0)
    if not request.model:
        return None
    price = lookup_ns(provider, request.model, unix_ns)
    if price is None:
        return None
    output = 0 if request.operation in _NO_OUTPUT else _output_tokens(request, default_output_tokens)
    return compute(price, Usage(input_tokens=input_tokens(arguments), output_tokens=output)).total


def input_tokens(arguments: Mapping[str, Any]) -> int:
    try:
        encoded = json.dumps(dict(arguments), default=_plain, ensure_ascii=False)
        plain = json.loads(encoded)  # SDK objects as plain JSON, for the walk below
    except Exception:
        _log.debug("llmledger: could not size a request", exc_info=True)
        return 0
    size = len(encoded.encode())
    images, instructed = _walk(plain)
    return -(-size // BYTES_PER_TOKEN) + CALL_TOKENS + (TOOLS_TOKENS if instructed else 0) + IMAGE_TOKENS * images


def _plain(value: Any) -> Any:
    """SDK objects as the JSON they are sent as: pydantic models dumped, a response-format class as its schema."""
    if isinstance(value, type) and hasattr(value, "model_json_schema"):
        return value.model_json_schema()
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, bytes | bytearray):
        return "x" * (len(value) * 4 // 3)  # sent base64-encoded
    return str(value)


def _walk(value: Any) -> tuple[int, bool]:
    """How many image parts `value` holds, and whether it offers tools or a structured output format."""
    if isinstance(value, list):
        images, instructed = 0, False
        for item in value:
            found, told = _walk(item)
            images, instructed = images + found, instructed or told
        return images, instructed
    if not isinstance(value, dict):
        return 0, False
    images = 1 if value.get("type") in _IMAGE_TYPES or not _IMAGE_KEYS.isdisjoint(value) else 0
    instructed = any(value.get(key) for key in _INSTRUCTED)
    for key, item in value.items():
        if key not in _IMAGE_KEYS:
            found, told = _walk(item)
            images, instructed = images + found, instructed or told
    return images, instructed


def _output_tokens(request: Request, default: int) -> int:
    limit = request.attributes.get(attr.REQUEST_MAX_TOKENS)
    choices = request.attributes.get(attr.REQUEST_CHOICE_COUNT, 1)
    per_choice = limit if isinstance(limit, int) and limit > 0 else default
    return per_choice * (choices if isinstance(choices, int) and choices > 0 else 1)
