# SPDX-License-Identifier: Apache-2.0
"""The one way the collector extracts: a request's spans → its LLM calls, as rows or as `LlmCall`s.

    extractor = Extractor(selection)       # once, at start
    extractor.columns(body)                # the hot path: `build_rows.ExtractedColumns`
    extractor.calls(body)                  # the reference: `build_calls.Extraction`, one `LlmCall` per call

Both read the request with `read_spans` and build with `build_rows` or `build_calls`. Each of those two steps has
a Python reference and a C fast path (`_read_spans.c`, `_build_rows.c`), and which one runs is chosen here, when
the extractor is made, never per request: the C where the install built it, unless `native=False` asks for the
Python alone (what the differential tests compare the C with).
"""

from __future__ import annotations

from typing import Final

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from . import build_rows, read_spans
from . import conventions as names
from .attributes import DEFAULT, AttributeSelection
from .build_calls import Extraction, build_calls
from .build_rows import ExtractedColumns, NativeRow
from .read_spans import SpanReader

NATIVE: Final = read_spans.NATIVE and build_rows.NATIVE  # whether the install built both C extensions
# `build_calls.is_llm_call` is True only for a span holding one of these (a usage or cost, an operation, an
# OpenInference kind): spans holding none are left out while reading (tests/collector/extract/test_extractor.py).
CALL_MARKERS: Final = names.USAGE_KEYS | names.COST_KEYS | frozenset(names.OPERATION) | {names.OPENINFERENCE_KIND}


class Extractor:
    """Extracts requests for one `AttributeSelection`, in C or in Python as chosen when it is made.

    `native`: None (the collector's choice) runs the C where it is built, True requires it (ValueError without
    it), False runs the Python reference alone.
    """

    def __init__(self, attributes: AttributeSelection = DEFAULT, *, native: bool | None = None) -> None:
        if native and not NATIVE:
            raise ValueError("the C extensions of the extractor are not built (the install had no C compiler)")
        self.attributes = attributes
        self.native: bool = NATIVE if native is None else native
        self._reader = SpanReader(attributes, native=self.native)
        self._fast_row: NativeRow | None = build_rows.native_row() if self.native else None

    def columns(self, request: ExportTraceServiceRequest | bytes) -> ExtractedColumns:
        """The storable LLM calls of `request` (or its serialized bytes) as `CallColumns`, their prices, the span
        count and the calls refused (a cost `llm_calls` cannot hold)."""
        spans, scopes = self._reader.marked(request, CALL_MARKERS)  # the other spans are counted, and no more
        extracted = build_rows.build_rows(scopes, self.attributes, self._fast_row)
        extracted.spans = spans
        return extracted

    def calls(self, request: ExportTraceServiceRequest | bytes, into: Extraction | None = None) -> Extraction:
        """The LLM calls of `request` (or its serialized bytes) as `LlmCall`s (appended to `into` when given)."""
        return build_calls(self._reader.scopes(request), self.attributes, into)
