# SPDX-License-Identifier: Apache-2.0
"""The cost breakdown a span carries, read the way the span contract defines it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_TOKENS_OF_PART = {
    "input": "gen_ai.usage.input_tokens",
    "cache_read": "gen_ai.usage.cache_read.input_tokens",
    "cache_write": "gen_ai.usage.cache_creation.input_tokens",
    "output": "gen_ai.usage.output_tokens",
}


def cost_parts(attributes: Mapping[str, Any]) -> dict[str, float]:
    """`llmledger.cost.{input,cache_read,cache_write,output}`, an absent part as 0, after checking that each part
    is on the span exactly when the tokens it prices are."""
    for part, tokens in _TOKENS_OF_PART.items():
        assert (f"llmledger.cost.{part}" in attributes) == (tokens in attributes), part
    return {part: attributes.get(f"llmledger.cost.{part}", 0.0) for part in _TOKENS_OF_PART}
