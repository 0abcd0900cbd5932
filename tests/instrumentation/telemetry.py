# SPDX-License-Identifier: Apache-2.0
"""What a test reads of the telemetry an instrumentor made: the one span of a call, the metrics by name."""

from __future__ import annotations

import gc
from typing import Any

from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


def one_span(span_exporter: InMemorySpanExporter) -> Any:
    """The only finished span, after a collection: a stream dropped unread ends its span when collected."""
    gc.collect()
    spans = span_exporter.get_finished_spans()
    assert len(spans) == 1, [s.name for s in spans]
    return spans[0]


def metrics_by_name(metric_reader: InMemoryMetricReader) -> dict[str, Any]:
    """Every metric collected now, by its name."""
    return {
        m.name: m
        for rm in metric_reader.get_metrics_data().resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
    }
