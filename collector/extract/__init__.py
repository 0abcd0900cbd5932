# SPDX-License-Identifier: Apache-2.0
"""Spans → rows of `llm_calls`, whatever convention the instrumentation followed (and of `otel_traces`, kept raw).

    read_spans      request bytes → per scope: resource, spans, each span's wanted attributes   (+ _read_spans.c)
    build_rows      → `CallColumns`, the hot path                                              (+ _build_rows.c)
    build_calls     → `LlmCall`s: which spans are LLM calls, and the reference the rows are held to
    extractor       `Extractor`: the two steps, with the C or the Python chosen once, at start
    raw_span_rows   a request → rows of `otel_traces`, as the OpenTelemetry Collector's exporter writes them

`conventions` names the attributes read and how each convention's token counts are normalised to the semconv
inclusive model; `values`, `attributes`, `costs` and `bounds` are what building reads, selects, prices and clamps.
"""

from .build_calls import Extraction
from .build_rows import ExtractedColumns
from .extractor import Extractor

__all__ = ["ExtractedColumns", "Extraction", "Extractor"]
