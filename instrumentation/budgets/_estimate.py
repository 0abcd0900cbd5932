# SPDX-License-Identifier: Apache-2.0
"""The most a call can cost, known before it is sent: what a budget reserves.

Input: one token per ``BYTES_PER_TOKEN`` bytes of the request's input (messages, prompt, instructions) as
UTF-8 JSON. Tokenizers give English about four characters per token and CJK about one character (three UTF-8
bytes), so three bytes per token over-counts English and holds for CJK; the JSON punctuation adds margin.
Output: the request's ``max_tokens`` / ``max_completion_tokens`` / ``max_output_tokens`` times ``n``, or
``default_output_tokens`` when the request sets none. Embeddings and token counting produce no output tokens.
Priced at the input-tier the estimate falls into, with no cache discount.
"""

from __future__ import annotations

import json
import logging
from decimal import Decimal
from typing import TYPE_CHECKING

from .._shared import attributes as attr
from .._shared.cost import compute
from .._shared.prices import lookup_ns
from .._shared.usage import Usage

if TYPE_CHECKING:  # the span lifecycle (and the OTel SDK behind it) stays out of `import llmledger`
    from .._shared.invocation import Request

_log = logging.getLogger(__name__)

BYTES_PER_TOKEN = 3
DEFAULT_OUTPUT_TOKENS = 4096
_NO_OUTPUT = frozenset({"embeddings", "count_tokens", "create_cached_content"})
_FREE = frozenset({"count_tokens"})


def worst_case(provider: str, request: Request, unix_ns: int, default_output_tokens: int) -> Decimal | None:
    """USD upper bound for the call, or None when its model has no known price."""
    if request.operation in _FREE:
        return Decimal(0)
    if not request.model:
        return None
    price = lookup_ns(provider, request.model, unix_ns)
    if price is None:
        return None
    output = 0 if request.operation in _NO_OUTPUT else _output_tokens(request, default_output_tokens)
    return compute(price, Usage(input_tokens=input_tokens(request), output_tokens=output)).total


def input_tokens(request: Request) -> int:
    if request.input_messages is None:
        return 0
    try:
        encoded = json.dumps(request.input_messages(), default=str, ensure_ascii=False).encode()
    except Exception:
        _log.debug("llmledger: could not size a request's input", exc_info=True)
        return 0
    return -(-len(encoded) // BYTES_PER_TOKEN)


def _output_tokens(request: Request, default: int) -> int:
    limit = request.attributes.get(attr.REQUEST_MAX_TOKENS)
    choices = request.attributes.get(attr.REQUEST_CHOICE_COUNT, 1)
    per_choice = limit if isinstance(limit, int) and limit > 0 else default
    return per_choice * (choices if isinstance(choices, int) and choices > 0 else 1)
