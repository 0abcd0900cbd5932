# SPDX-License-Identifier: Apache-2.0
"""Plain-text tables and money for terminal reports: aligned columns, numbers to the right, no colours."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal


def usd(value: Decimal | float | int) -> str:
    """`$1,234.567890`: six decimals, because one LLM call often costs less than a cent."""
    return f"${Decimal(value):,.6f}"


def count(value: int | float) -> str:
    return f"{int(value):,}"


def render(headers: Sequence[str], rows: Sequence[Sequence[str]], *, indent: str = "  ") -> str:
    """`rows` under `headers`; a column whose every cell starts with a digit or `$` is right-aligned."""
    widths = [len(header) for header in headers]
    for row in rows:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]
    numeric = [bool(rows) and all(_is_number(row[i]) for row in rows) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        parts = [
            cell.rjust(width) if right else cell.ljust(width)
            for cell, width, right in zip(cells, widths, numeric, strict=True)
        ]
        return (indent + "  ".join(parts)).rstrip()

    return "\n".join([line(headers), *(line(row) for row in rows)])


def _is_number(cell: str) -> bool:
    return bool(cell) and (cell[0].isdigit() or cell[0] == "$" or (cell[0] == "-" and cell[1:2].isdigit()))
