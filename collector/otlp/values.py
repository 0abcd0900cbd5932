# SPDX-License-Identifier: Apache-2.0
"""Reading OTLP `AnyValue`s: as Python values for extraction, and as strings the way the Collector writes them.

`as_string` follows pdata's `Value.AsString()`, which the OpenTelemetry Collector's ClickHouse exporter uses for
every attribute value in `otel_traces`: strings as they are, ints in decimal, bools `true`/`false`, doubles as
ES6 numbers (`3`, `0.25`, `1e-7`, `1e+21`), bytes base64, arrays and maps as Go's `json.Marshal` writes them
(compact, sorted keys, `<>&` escaped). Matching it keeps our raw rows interchangeable with the exporter's.
rotel's exporter differs for arrays (protobuf JSON) and whole doubles (`3.0`); we follow the upstream one.
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
    return _json(value)


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
        mantissa, _, exponent = repr(number).partition("e")  # repr is in exponent form in these ranges
        sign = "-" if exponent.startswith("-") else "+"
        return f"{mantissa}e{sign}{exponent.lstrip('+-').lstrip('0') or '0'}"
    text = format(Decimal(repr(number)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _json(value: AnyValue) -> str:
    """Go's `json.Marshal(value.AsRaw())`: compact, map keys sorted, HTML characters escaped, pdata's doubles."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return _json_string(value.string_value)
    if kind == "int_value":
        return str(value.int_value)
    if kind == "bool_value":
        return "true" if value.bool_value else "false"
    if kind == "double_value":
        number = value.double_value
        return format_double(number) if math.isfinite(number) else "null"
    if kind == "bytes_value":
        return _json_string(base64.b64encode(value.bytes_value).decode("ascii"))
    if kind == "array_value":
        return "[" + ",".join(_json(item) for item in value.array_value.values) + "]"
    if kind == "kvlist_value":
        entries = {kv.key: kv.value for kv in value.kvlist_value.values}
        return "{" + ",".join(f"{_json_string(key)}:{_json(entries[key])}" for key in sorted(entries)) + "}"
    return "null"


_GO_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def _json_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False).translate(_GO_ESCAPES)


__all__ = ["AnyValue", "KeyValue", "as_python", "as_string", "attributes_as_strings", "format_double"]
