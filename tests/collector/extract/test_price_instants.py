# SPDX-License-Identifier: Apache-2.0
"""The collector prices a call that carries no cost at its span's start instant, as the instrumentation does.

DeepSeek's off-peak hours (genai-prices: deepseek-chat 0.135 / 0.035 / 0.55 USD per million tokens input / cache
read / output from 16:30 to 00:30 UTC, 0.27 / 0.07 / 1.10 otherwise): calls on both sides of 16:30 in one request
get their own price on every extraction path, the `LlmCall` reference and the rows, in Python and in C.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from llmledger.collector.extract import extractor
from llmledger.collector.extract.extractor import Extractor
from llmledger.collector.llm_calls import LlmCall

_TOTAL = [field.name for field in fields(LlmCall)].index("total_cost")  # columns are in field order
PICO = 10**12  # rows carry costs as integers of 10⁻¹² USD

# 8,000 uncached × 0.27 + 2,000 cache reads × 0.07 + 1,000 out × 1.10 = 3,400 µUSD; off-peak half of it.
PEAK, OFF_PEAK = Decimal("0.0034"), Decimal("0.0017")
# gpt-4o-mini, one price all day: 8,000 × 0.15 + 2,000 × 0.075 + 1,000 × 0.60 = 1,950 µUSD
MINI = Decimal("0.00195")


def _at(hour: int, minute: int, second: int = 0) -> int:
    return int(datetime(2026, 12, 6, hour, minute, second, tzinfo=UTC).timestamp()) * 10**9


CALLS = [  # (model, start): in one request, a minute apart across 16:30
    ("deepseek-chat", _at(16, 29, 30)),
    ("deepseek-chat", _at(16, 30, 30)),
    ("gpt-4o-mini", _at(16, 29, 30)),
    ("deepseek-chat", _at(16, 29, 59)),
    ("gpt-4o-mini", _at(16, 30, 30)),
]
EXPECTED = [PEAK, OFF_PEAK, MINI, PEAK, MINI]


def _request() -> bytes:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("opentelemetry.instrumentation.openai_v2")
    for model, start in CALLS:
        span = tracer.start_span(f"chat {model}", kind=SpanKind.CLIENT, start_time=start)
        span.set_attributes(
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "deepseek" if model.startswith("deepseek") else "openai",
                "gen_ai.request.model": model,
                "gen_ai.response.model": model,
                "gen_ai.usage.input_tokens": 10_000,
                "gen_ai.usage.cache_read.input_tokens": 2_000,
                "gen_ai.usage.output_tokens": 1_000,
            }
        )
        span.end(end_time=start + 2 * 10**9)
    return encode_spans(exporter.get_finished_spans()).SerializeToString()


def test_each_call_is_priced_at_its_own_instant_in_the_llm_call_reference():
    calls = Extractor(native=False).calls(_request()).calls

    assert [call.total_cost for call in calls] == EXPECTED
    assert [call.cost_source for call in calls] == ["collector"] * len(CALLS)


@pytest.mark.parametrize("native", [False, True], ids=["python", "c"])
def test_each_call_is_priced_at_its_own_instant_in_the_rows(native):
    if native and not extractor.NATIVE:
        pytest.skip("the C extensions of the extractor are not built here")
    columns = Extractor(native=native).columns(_request())

    assert list(columns.columns.columns[_TOTAL]) == [int(cost * PICO) for cost in EXPECTED]
    assert len({price.id for price in columns.prices.values() if price.model == "deepseek-chat"}) == 2
