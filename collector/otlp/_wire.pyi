# SPDX-License-Identifier: Apache-2.0
"""The C well-formedness check (`_wire.c`) as type checkers see it: they cannot read an extension module."""

from typing import Any

def schema(
    types: tuple[tuple[tuple[int, int, int], ...], ...],
    count_type: int,
    count_field: int,
    mark_type: int,
    mark_field: int,
    prefixes: tuple[bytes, ...],
    /,
) -> Any:
    """A message's types as `check` walks them (an opaque capsule)."""

def check(body: bytes, schema: Any, /) -> tuple[int, bool] | None:
    """(occurrences of the counted field, whether a marked field starts with a prefix) when `body` is certainly
    well-formed, else None."""
