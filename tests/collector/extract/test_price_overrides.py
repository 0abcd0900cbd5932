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

from llmledger.collector.extract import Extractor
from llmledger.collector.llm_calls import LlmCall

_PRICED_MODEL = [field.name for field in fields(LlmCall)].index("priced_model")  # columns are in field order


@pytest.fixture
def glob_prices(tmp_path, monkeypatch):
    path = tmp_path / "prices.yaml"
    path.write_text(
        "prices:\n"
        '  - {provider: openai, model: "gpt-4o-mini*", input: 0.2, output: 0.8}\n'
        '  - {model: "house-*", input: 0.2, output: 0.8}\n'
    )
    monkeypatch.setenv("LLMLEDGER_PRICES_FILE", str(path))


def _spans_without_cost() -> bytes:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("opentelemetry.instrumentation.openai_v2")
    for system, request_model, response_model in (
        ("openai", "gpt-4o-mini", "gpt-4o-mini-2024-07-18"),
        ("openai", "gpt-4o-mini", "gpt-4o-mini"),
        ("vllm", "House-Model-7B", "House-Model-7B"),
    ):
        with tracer.start_as_current_span(f"chat {request_model}", kind=SpanKind.CLIENT) as span:
            span.set_attributes(
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.provider.name": system,
                    "gen_ai.request.model": request_model,
                    "gen_ai.response.model": response_model,
                    "gen_ai.usage.input_tokens": 1000,
                    "gen_ai.usage.output_tokens": 100,
                }
            )
    return encode_spans(exporter.get_finished_spans()).SerializeToString()


def test_the_priced_model_is_the_calls_model_on_both_extraction_paths(glob_prices):
    """Under genai-prices' id where it knows the model (as if genai-prices had priced it), else as named."""
    body = _spans_without_cost()

    calls = Extractor().calls(body).calls
    columns = Extractor().columns(body).columns

    expected = ["gpt-4o-mini", "gpt-4o-mini", "House-Model-7B"]
    assert [call.priced_model for call in calls] == expected
    assert [call.total_cost for call in calls] == [Decimal("0.00028")] * 3  # 1000 × 0.2 + 100 × 0.8 per million
    assert list(columns.columns[_PRICED_MODEL]) == expected


def test_the_price_table_names_each_pattern_once_whatever_models_it_priced(glob_prices):
    extraction = Extractor().calls(_spans_without_cost())

    assert sorted((price.pattern, price.source) for price in extraction.prices.values()) == [
        ("gpt-4o-mini*", "override"),
        ("house-*", "override"),
    ]
