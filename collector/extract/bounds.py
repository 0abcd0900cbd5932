# SPDX-License-Identifier: Apache-2.0
"""Keeping one absurd span from costing a whole batch: values `llm_calls` cannot hold are clamped and flagged.

ClickHouse refuses an entire insert for a single value outside its column (a token count past UInt32, a NaN
duration that the rollups convert to an integer), which would drop every other call written with it, and
silently drops a row timestamped past 2106 (its TTL wraps around into the past). So each extracted call is
brought into range here, and the names of the fields changed are listed in `attributes['llmledger.truncated']`
(comma-separated), so nothing is altered silently. Over-long strings (a megabyte "model name", a custom
attribute) are cut to `MAX_TEXT` characters and custom attributes past `MAX_ATTRIBUTES` are left out: they
would otherwise bloat the dictionaries and maps of every part they land in. Costs too large for Decimal(18, 12)
are not clamped but refused by the pipeline as a partial success: a wrong bill must not look like a right one.
"""

from __future__ import annotations

import operator
from decimal import Decimal
from typing import Final

from ..llm_calls import _ZERO, LlmCall

TRUNCATED: Final = "llmledger.truncated"
MAX_TOKENS: Final = 2**32 - 1  # UInt32
# 2100-01-01: later, the tables' TTL (a DateTime, which ends in 2106) wraps into the past and ClickHouse drops
# the row on insert, silently; DateTime64(9) itself would hold up to 2262.
MAX_TIMESTAMP_NS: Final = 4_102_444_800 * 10**9
# 162 years: the latest storable start plus this still fits DateTime64(9) (up to 2^63 - 1 ns), as the trace rollup
# needs for the end it computes (Timestamp + DurationMs · 10^6 ns); more failed the whole insert.
MAX_MS: Final = 5.12e12
assert MAX_TIMESTAMP_NS + MAX_MS * 10**6 < 2**63
MAX_TEXT: Final = 1024  # characters of a text field or an attribute value
MAX_ATTRIBUTES: Final = 64  # custom attributes kept per call (the first ones)
_COST_LIMIT = Decimal(1_000_000)
_TOKEN_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
    "reasoning_output_tokens",
)
_MS_FIELDS = ("duration_ms", "time_to_first_chunk_ms")
_TEXT_FIELDS = (
    "trace_id",
    "span_id",
    "parent_span_id",
    "span_name",
    "tenant",
    "service_name",
    "environment",
    "feature",
    "user_id",
    "session_id",
    "provider",
    "operation",
    "request_model",
    "response_model",
    "priced_model",
    "error_type",
    "finish_reason",
    "currency",
)


_TOKENS = operator.attrgetter(*_TOKEN_FIELDS)
_TEXTS = operator.attrgetter(*_TEXT_FIELDS)


def bound(call: LlmCall) -> LlmCall:
    """`call`, with every field in its column's range (changed fields listed under `TRUNCATED`)."""
    # One cheap test for the common case: every call pays it, only absurd ones pay for the rest.
    if (
        0 <= call.timestamp_ns <= MAX_TIMESTAMP_NS
        and max(_TOKENS(call)) <= MAX_TOKENS
        and 0 <= call.duration_ms <= MAX_MS
        and 0 <= call.time_to_first_chunk_ms <= MAX_MS
        and (call.cache_savings is _ZERO or -_COST_LIMIT < call.cache_savings < _COST_LIMIT)
        and len("".join(_TEXTS(call))) <= MAX_TEXT  # all of them together: then none is too long
        and not call.attributes
    ):
        return call
    return _clamp(call)


def _clamp(call: LlmCall) -> LlmCall:
    changed = []
    if not 0 <= call.timestamp_ns <= MAX_TIMESTAMP_NS:
        call.timestamp_ns = min(max(call.timestamp_ns, 0), MAX_TIMESTAMP_NS)
        changed.append("timestamp_ns")
    for name in _TOKEN_FIELDS:
        if getattr(call, name) > MAX_TOKENS:
            setattr(call, name, MAX_TOKENS)
            changed.append(name)
    for name in _MS_FIELDS:
        value = getattr(call, name)
        if not 0 <= value <= MAX_MS:  # NaN fails both comparisons
            setattr(call, name, MAX_MS if value > MAX_MS else 0.0)
            changed.append(name)
    if abs(call.cache_savings) >= _COST_LIMIT:
        call.cache_savings = Decimal(0)
        changed.append("cache_savings")
    for name in _TEXT_FIELDS:
        if len(getattr(call, name)) > MAX_TEXT:
            setattr(call, name, getattr(call, name)[:MAX_TEXT])
            changed.append(name)
    attributes = call.attributes
    if attributes and (len(attributes) > MAX_ATTRIBUTES or max(map(len, attributes.values())) > MAX_TEXT):
        call.attributes = {key: value[:MAX_TEXT] for key, value in list(attributes.items())[:MAX_ATTRIBUTES]}
        changed.append("attributes")
    if changed:
        call.attributes[TRUNCATED] = ",".join(changed)
    return call


__all__ = ["MAX_ATTRIBUTES", "MAX_MS", "MAX_TEXT", "MAX_TIMESTAMP_NS", "MAX_TOKENS", "TRUNCATED", "bound"]
