# SPDX-License-Identifier: Apache-2.0
"""Spans → `LlmCall`s, whatever convention the instrumentation followed.

`extract_calls(request)` walks an `ExportTraceServiceRequest` (or its serialized bytes) and returns one
`LlmCall` per span that is an LLM call; every other span is skipped after a look at its attribute keys. See
`conventions` for the attribute names read and how each convention's token counts are normalised to the
semconv inclusive model.
"""

from .columns import ExtractedColumns, extract_columns
from .spans import Extraction, extract_calls, span_to_call

__all__ = ["ExtractedColumns", "Extraction", "extract_calls", "extract_columns", "span_to_call"]
