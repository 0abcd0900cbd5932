# SPDX-License-Identifier: Apache-2.0
"""The C row builder (`_build_rows.c`) as type checkers see it: they cannot read an extension module."""

from collections.abc import Callable
from typing import Any

def configure(**names_and_limits: Any) -> None:
    """Once, before `row`: the attribute names, memo, callbacks and limits `build_rows._row` uses."""

def row(
    span: Any,
    found: dict[str, Any],
    resource: dict[str, Any],
    wanted: frozenset[str],
    names: frozenset[str],
    entries: dict[Any, Any],
    used: dict[str, Any],
    entry_of: Callable[[str, str, str, int], Any],
    /,
) -> tuple[Any, ...] | None:
    """`build_rows._row` for a span `_read_spans` read, or None where `_row` must build it. See `_build_rows.c`."""
