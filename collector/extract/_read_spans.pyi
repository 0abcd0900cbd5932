# SPDX-License-Identifier: Apache-2.0
"""The C span reader (`_read_spans.c`) as type checkers see it: they cannot read an extension module."""

from typing import Any

from .values import Found

class ScannedSpan:
    """The fields of a span extraction reads (a struct sequence)."""

def scan(
    body: bytes, names: dict[bytes, str], custom_prefix: bytes, /
) -> tuple[list[bytes], list[tuple[int, list[Any], list[Found | None]]]] | None:
    """Each resource serialized and, per scope, (resource index, spans, founds); None when the request is not in
    the canonical shape. See `_read_spans.c` and `read_spans.SpanReader.scopes`."""
