# SPDX-License-Identifier: Apache-2.0
"""Reading OTLP `AnyValue`s: as Python values for extraction, and as strings the way the Collector writes them.

`as_string` follows pdata's `Value.AsString()`, which the OpenTelemetry Collector's ClickHouse exporter uses for
every attribute value in `otel_traces`: strings as they are, ints in decimal, bools `true`/`false`, doubles in
Go's shortest 'g'-like form (`strconv.FormatFloat(v, 'f', -1, 64)` for most values), bytes base64, and arrays and
maps as compact JSON. Matching it keeps our raw rows interchangeable with the exporter's.
"""

from __future__ import annotations

import base64
import json
import math
from decimal import Decimal
from typing import Any

from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue


def as_python(value: AnyValue) -> Any:
    """The value held, as str, int, float, bool, bytes, list or dict (None when empty)."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [as_python(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: as_python(kv.value) for kv in value.kvlist_value.values}
    return getattr(value, kind)


def as_string(value: AnyValue) -> str:
    """pdata `Value.AsString()`."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind == "int_value":
        return str(value.int_value)
    if kind == "bool_value":
        return "true" if value.bool_value else "false"
    if kind == "double_value":
        return format_double(value.double_value)
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode("ascii")
    if kind is None:
        return ""
    return json.dumps(_jsonable(value), separators=(",", ":"), ensure_ascii=False)


def attributes_as_strings(attributes: Any) -> dict[str, str]:
    """A repeated `KeyValue` field as the exporter's `Map(String, String)`: later duplicates win, like pdata's."""
    return {kv.key: as_string(kv.value) for kv in attributes}


def format_double(number: float) -> str:
    """pdata's `float64AsString`: ES6 number-to-string, i.e. positional unless |x| < 1e-6 or ≥ 1e21."""
    if math.isnan(number) or math.isinf(number):
        go = "NaN" if math.isnan(number) else ("+Inf" if number > 0 else "-Inf")
        return f"json: unsupported value: {go}"
    magnitude = abs(number)
    if magnitude != 0 and (magnitude < 1e-6 or magnitude >= 1e21):
        mantissa, _, exponent = f"{number:e}".partition("e") if "e" not in repr(number) else repr(number).partition("e")
        sign = "-" if exponent.startswith("-") else "+"
        return f"{mantissa}e{sign}{exponent.lstrip('+-').lstrip('0') or '0'}"
    text = format(Decimal(repr(number)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _jsonable(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_jsonable(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _jsonable(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode("ascii")
    if kind == "double_value":
        number = value.double_value
        return number if math.isfinite(number) else None
    return None if kind is None else getattr(value, kind)


__all__ = ["AnyValue", "KeyValue", "as_python", "as_string", "attributes_as_strings", "format_double"]
