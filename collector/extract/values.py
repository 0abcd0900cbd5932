# SPDX-License-Identifier: Apache-2.0
"""Typed reads of the few attributes extraction keeps, tolerant of how each SDK and OTLP/JSON encode them.

Counts arrive as ints, as integral doubles, or as strings (OTLP/JSON int64s); costs as doubles or strings.
Anything unusable reads as None, never as 0: "not reported" and "zero" are different facts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation

from opentelemetry.proto.common.v1.common_pb2 import AnyValue


def count(found: Mapping[str, AnyValue], names: Sequence[str]) -> int | None:
    """The first of `names` present as a non-negative whole number."""
    for name in names:
        value = found.get(name)
        if value is None:
            continue
        kind = value.WhichOneof("value")
        if kind == "int_value":
            number = value.int_value
        elif kind == "double_value" and value.double_value.is_integer():
            number = int(value.double_value)
        elif kind == "string_value" and value.string_value.strip().isdigit():
            number = int(value.string_value)
        else:
            continue
        if number >= 0:
            return number
    return None


def money(found: Mapping[str, AnyValue], names: Sequence[str]) -> Decimal | None:
    """The first of `names` present as a finite, non-negative amount; doubles keep their shortest repr."""
    for name in names:
        value = found.get(name)
        if value is None:
            continue
        kind = value.WhichOneof("value")
        try:
            if kind == "double_value":
                amount = Decimal(repr(value.double_value))
            elif kind == "int_value":
                amount = Decimal(value.int_value)
            elif kind == "string_value":
                amount = Decimal(value.string_value.strip())
            else:
                continue
        except InvalidOperation:
            continue
        if amount.is_finite() and amount >= 0:
            return amount
    return None


def text(found: Mapping[str, AnyValue], names: Sequence[str]) -> str:
    """The first of `names` present as a non-empty string ('' if none); scalars are stringified."""
    for name in names:
        value = found.get(name)
        if value is None:
            continue
        kind = value.WhichOneof("value")
        if kind == "string_value":
            if value.string_value:
                return value.string_value
        elif kind == "int_value":
            return str(value.int_value)
        elif kind == "array_value" and value.array_value.values:
            first = value.array_value.values[0]
            if first.WhichOneof("value") == "string_value" and first.string_value:
                return first.string_value
    return ""


def flag(found: Mapping[str, AnyValue], names: Sequence[str]) -> bool | None:
    """The first of `names` present as a bool (or the strings 'true'/'false')."""
    for name in names:
        value = found.get(name)
        if value is None:
            continue
        kind = value.WhichOneof("value")
        if kind == "bool_value":
            return value.bool_value
        if kind == "string_value" and value.string_value.lower() in ("true", "false"):
            return value.string_value.lower() == "true"
    return None


def number(found: Mapping[str, AnyValue], names: Sequence[str]) -> float | None:
    for name in names:
        value = found.get(name)
        if value is None:
            continue
        kind = value.WhichOneof("value")
        if kind == "double_value":
            return value.double_value
        if kind == "int_value":
            return float(value.int_value)
    return None
