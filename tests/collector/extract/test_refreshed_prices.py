# SPDX-License-Identifier: Apache-2.0
"""The collector prices calls that carry no cost with a refreshed genai-prices data file, not the snapshot.

A Together call to Mixtral 8x7B (18 tokens in, 35 out): $0.90 per million tokens in the bundled snapshot, $0.60
(as Together lists it) in the data file.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from llmledger._core import price_data, prices
from llmledger.collector.extract.extractor import Extractor
from tests.core.price_files import TOGETHER_MIXTRAL, bundled_raw, encoded, with_price


def _request() -> bytes:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("test").start_as_current_span(f"chat {TOGETHER_MIXTRAL[1]}", kind=SpanKind.CLIENT) as span:
        span.set_attributes(
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "together",
                "gen_ai.request.model": TOGETHER_MIXTRAL[1],
                "gen_ai.usage.input_tokens": 18,
                "gen_ai.usage.output_tokens": 35,
            }
        )
    return encode_spans(exporter.get_finished_spans()).SerializeToString()


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("LLMLEDGER_PRICES_DATA", raising=False)
    monkeypatch.setenv("LLMLEDGER_DATA_DIR", str(tmp_path))
    prices.reload()
    return tmp_path


def test_the_collector_prices_with_the_refreshed_data_file(data_dir):
    assert Extractor().calls(_request()).calls[0].total_cost == Decimal("0.0000477")  # 53 × $0.90 per million

    (data_dir / "prices").mkdir()
    fixed = with_price(bundled_raw(), *TOGETHER_MIXTRAL, input_mtok=0.6, output_mtok=0.6)
    (data_dir / "prices" / "genai-prices.json").write_bytes(encoded(fixed))
    prices.reload()  # as a collector started after the refresh

    extraction = Extractor().calls(_request())
    (call,) = extraction.calls
    assert call.total_cost == Decimal("0.0000318")  # 53 × $0.60 per million
    (price,) = extraction.prices.values()
    assert price.version.startswith("genai-prices.json:")  # stored in llm_model_prices: which data priced it


def test_a_collector_given_its_data_directory_looks_there(data_dir, tmp_path_factory):
    own = tmp_path_factory.mktemp("collector-data")
    (own / "prices").mkdir()
    fixed = with_price(bundled_raw(), *TOGETHER_MIXTRAL, input_mtok=0.6, output_mtok=0.6)
    (own / "prices" / "genai-prices.json").write_bytes(encoded(fixed))
    try:
        price_data.use_data_dir(own)
        assert Extractor().calls(_request()).calls[0].total_cost == Decimal("0.0000318")
    finally:
        price_data.use_data_dir(None)
