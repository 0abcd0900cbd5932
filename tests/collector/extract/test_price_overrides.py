# SPDX-License-Identifier: Apache-2.0
"""A call priced by a pattern of the user's price file is stored under its own model: the pattern names where the
price came from (`llm_model_prices`), never a model of `llm_calls`."""

from __future__ import annotations

from dataclasses import fields
from decimal import Decimal

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from llmledger.collector.calls import LlmCall
from llmledger.collector.extract import extract_calls, extract_columns

_PRICED_MODEL = [field.name for field in fields(LlmCall)].index("priced_model")  # columns are in field order


@pytest.fixture
def glob_prices(tmp_path, monkeypatch):
    path = tmp_path / "prices.yaml"
    path.write_text('prices:\n  - {provider: openai, model: "gpt-4o-mini*", input: 0.2, output: 0.8}\n')
    monkeypatch.setenv("LLMLEDGER_PRICES_FILE", str(path))


def _spans_without_cost() -> bytes:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("opentelemetry.instrumentation.openai_v2")
    for response_model in ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"):
        with tracer.start_as_current_span("chat gpt-4o-mini", kind=SpanKind.CLIENT) as span:
            span.set_attributes(
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.provider.name": "openai",
                    "gen_ai.request.model": "gpt-4o-mini",
                    "gen_ai.response.model": response_model,
                    "gen_ai.usage.input_tokens": 1000,
                    "gen_ai.usage.output_tokens": 100,
                }
            )
    return encode_spans(exporter.get_finished_spans()).SerializeToString()


def test_the_priced_model_is_the_calls_model_on_both_extraction_paths(glob_prices):
    body = _spans_without_cost()

    calls = extract_calls(body).calls
    columns = extract_columns(body).columns

    assert [call.priced_model for call in calls] == ["gpt-4o-mini-2024-07-18", "gpt-4o-mini"]
    assert [call.total_cost for call in calls] == [Decimal("0.00028")] * 2  # 1000 × 0.2 + 100 × 0.8 per million
    assert list(columns.columns[_PRICED_MODEL]) == ["gpt-4o-mini-2024-07-18", "gpt-4o-mini"]


def test_the_price_table_names_the_pattern_once_for_every_model_it_priced(glob_prices):
    extraction = extract_calls(_spans_without_cost())

    (price,) = extraction.prices.values()
    assert (price.pattern, price.source) == ("gpt-4o-mini*", "override")
