# SPDX-License-Identifier: Apache-2.0
"""Shared fixtures: real OpenTelemetry SDK providers with in-memory exporters."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmledger._core import prices


@pytest.fixture(autouse=True)
def _prices_file_looked_at_again() -> Iterator[None]:
    """Each test sees the LLMLEDGER_PRICES_FILE it sets, not one a test before it set (prices look at the
    variable at most every two seconds)."""
    prices.reload()
    yield
    prices.reload()


@pytest.fixture(autouse=True)
def _bundled_price_data(monkeypatch: pytest.MonkeyPatch) -> None:
    """Prices come from genai-prices' bundled snapshot, which the tests' hand-computed costs are worked out from,
    whatever data file `llmledger prices refresh` left in this machine's data directory."""
    monkeypatch.setenv("LLMLEDGER_PRICES_DATA", "bundled")


@pytest.fixture
def span_exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def tracer_provider(span_exporter: InMemorySpanExporter) -> TracerProvider:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(span_exporter))
    return provider


@pytest.fixture
def metric_reader() -> InMemoryMetricReader:
    return InMemoryMetricReader()


@pytest.fixture
def meter_provider(metric_reader: InMemoryMetricReader) -> Iterator[MeterProvider]:
    provider = MeterProvider(metric_readers=[metric_reader])
    yield provider
    provider.shutdown()
