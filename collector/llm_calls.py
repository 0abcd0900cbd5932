# SPDX-License-Identifier: Apache-2.0
"""The collector's unit of work: one LLM call, as it becomes a row of `llm_calls`.

Extraction (any span convention → `LlmCall`) and storage (`LlmCall` → ClickHouse) meet only here, so
each can change without the other. Field names are the column names of `schemas/…llm_calls…sql`
in snake_case; defaults are the columns' defaults ('' and 0, never NULL).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

# Who computed a call's cost: the instrumentation that made the span (llmledger's, in the application, or any
# other that put a cost on it), the provider (a cost the response reported, e.g. OpenRouter's `usage.cost`,
# passed on as `gen_ai.usage.cost.source = provider`), the collector from its price table (the span had no
# cost), or nobody (`unpriced`: no price known, the costs are 0 and mean unknown). Rows stored before these
# names carry 'reported' (the span's cost) and 'computed' (the collector's).
CostSource = Literal["instrumentation", "provider", "collector", "unpriced"]

_ZERO = Decimal(0)


@dataclass(slots=True)
class LlmCall:
    timestamp_ns: int  # span start, Unix ns
    trace_id: str  # lower-case hex, as otel_traces writes it
    span_id: str
    parent_span_id: str = ""
    span_name: str = ""
    duration_ms: float = 0.0
    time_to_first_chunk_ms: float = 0.0

    tenant: str = ""
    service_name: str = ""
    environment: str = ""
    feature: str = ""
    user_id: str = ""
    session_id: str = ""

    provider: str = ""
    operation: str = ""
    request_model: str = ""
    response_model: str = ""
    priced_model: str = ""  # the model id the price was found under ('' when unpriced)
    status_code: str = ""  # 'Unset' | 'Ok' | 'Error'
    error_type: str = ""
    finish_reason: str = ""
    is_streaming: bool = False
    usage_complete: bool = True

    input_tokens: int = 0  # inclusive of cache reads and writes
    output_tokens: int = 0  # inclusive of reasoning
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0
    reasoning_output_tokens: int = 0

    input_cost: Decimal = _ZERO  # uncached input only
    cache_read_cost: Decimal = _ZERO
    cache_write_cost: Decimal = _ZERO
    output_cost: Decimal = _ZERO
    other_cost: Decimal = _ZERO  # reported totals not broken down by kind land here
    total_cost: Decimal = _ZERO
    cache_savings: Decimal = _ZERO
    cost_source: CostSource = "unpriced"
    price_id: str = ""
    currency: str = "USD"

    attributes: dict[str, str] = field(default_factory=dict)  # allow-listed custom attributes
