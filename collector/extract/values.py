# SPDX-License-Identifier: Apache-2.0
"""Typed reads of the few attributes extraction keeps, tolerant of how each SDK and OTLP/JSON encode them.

`read(attributes)` decodes only the keys extraction reads (`conventions.READ`) into plain Python values, once
per span; the helpers below then work on that small dict. Counts arrive as ints, as integral doubles, or as
strings (OTLP/JSON int64s); costs as doubles or strings. Anything unusable reads as None, never as 0: "not
reported" and "zero" are different facts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from opentelemetry.proto.common.v1.common_pb2 import KeyValue

from .conventions import CUSTOM_PREFIX, READ

Found = dict[str, Any]
_DIGITS = re.compile(r"[0-9]{1,30}")  # ASCII digits, short enough for int() (longer ones are not counts)
_HUGE = Decimal(10**15)


def read(attributes: Iterable[KeyValue], wanted: frozenset[str] = READ) -> Found:
    """The `wanted` attributes and every `llmledger.custom.*` one as Python values (arrays as lists of scalars;
    maps and empty values skipped)."""
    found: Found = {}
    for kv in attributes:
        key = kv.key
        if key in wanted or key.startswith(CUSTOM_PREFIX):
            value = kv.value
            kind = value.WhichOneof("value")
            if kind == "array_value":
                found[key] = [
                    getattr(item, item.WhichOneof("value") or "string_value") for item in value.array_value.values
                ]
            elif kind is not None and kind != "kvlist_value":
                found[key] = getattr(value, kind)
    return found


def count(found: Mapping[str, Any], names: Sequence[str]) -> int | None:
    """The first of `names` present as a non-negative whole number."""
    for name in names:
        value = found.get(name)
        if value is None or value.__class__ is bool:
            continue
        if value.__class__ is int:
            number = value
        elif (value.__class__ is float and value.is_integer()) or (
            value.__class__ is str and _DIGITS.fullmatch(value.strip())
        ):
            number = int(value)
        else:
            continue
        if number >= 0:
            return number
    return None


def money(found: Mapping[str, Any], names: Sequence[str]) -> Decimal | None:
    """The first of `names` present as a finite, non-negative amount; doubles keep their shortest repr."""
    for name in names:
        value = found.get(name)
        if value is None or value.__class__ is bool:
            continue
        try:
            if value.__class__ is float:
                amount = Decimal(repr(value))
            elif value.__class__ in (int, str):
                amount = Decimal(value.strip() if value.__class__ is str else value)
            else:
                continue
        except InvalidOperation:
            continue
        if amount.is_finite() and amount >= 0:
            return min(amount, _HUGE)  # beyond any bill, and small enough to add up without overflowing
    return None


def text(found: Mapping[str, Any], names: Sequence[str]) -> str:
    """The first of `names` present as a non-empty string ('' if none); ints are stringified, lists give their
    first string."""
    for name in names:
        value = found.get(name)
        if value is None:
            continue
        if value.__class__ is str:
            if value:
                return value
        elif value.__class__ is int:
            return str(value)
        elif value.__class__ is list and value and value[0].__class__ is str and value[0]:
            return value[0]
    return ""


def flag(found: Mapping[str, Any], names: Sequence[str]) -> bool | None:
    """The first of `names` present as a bool (or the strings 'true'/'false')."""
    for name in names:
        value = found.get(name)
        if value.__class__ is bool:
            return value  # type: ignore[no-any-return]
        if value.__class__ is str and value.lower() in ("true", "false"):
            return value.lower() == "true"  # type: ignore[no-any-return]
    return None


def number(found: Mapping[str, Any], names: Sequence[str]) -> float | None:
    for name in names:
        value = found.get(name)
        if value.__class__ in (float, int):
            return float(value)
    return None
