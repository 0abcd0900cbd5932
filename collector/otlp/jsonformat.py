# SPDX-License-Identifier: Apache-2.0
"""OTLP/JSON → `ExportTraceServiceRequest`.

OTLP/JSON is protobuf's JSON mapping (lowerCamelCase names, int64 as strings, enums as integers) with one
exception: trace and span ids are hex, not base64. So ids are rewritten to base64 and protobuf's own parser
does the rest; unknown fields are ignored, as the OTLP spec asks of receivers.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

_ID_FIELDS = ("traceId", "spanId", "parentSpanId")


class InvalidOtlpJson(ValueError):
    """The body is not an OTLP/JSON ExportTraceServiceRequest; the message says where it goes wrong."""


def parse(body: bytes) -> ExportTraceServiceRequest:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidOtlpJson(f"invalid JSON: {error}") from None
    except RecursionError:
        raise InvalidOtlpJson("invalid OTLP/JSON: nested too deeply") from None
    if not isinstance(document, dict):
        raise InvalidOtlpJson("invalid OTLP/JSON: the body must be a JSON object with resourceSpans")
    for resource_spans in _items(document, "resourceSpans"):
        for scope_spans in _items(resource_spans, "scopeSpans"):
            for span in _items(scope_spans, "spans"):
                _ids_to_base64(span)
                for link in _items(span, "links"):
                    _ids_to_base64(link)
    request = ExportTraceServiceRequest()
    try:
        json_format.ParseDict(document, request, ignore_unknown_fields=True)
    except json_format.ParseError as error:
        raise InvalidOtlpJson(f"invalid OTLP/JSON: {error}") from None
    except RecursionError:
        raise InvalidOtlpJson("invalid OTLP/JSON: nested too deeply") from None
    return request


def _items(parent: Any, key: str) -> list[Any]:
    value = parent.get(key) if isinstance(parent, dict) else None
    return value if isinstance(value, list) else []


def _ids_to_base64(item: Any) -> None:
    if not isinstance(item, dict):
        return
    for key in _ID_FIELDS:
        value = item.get(key)
        if isinstance(value, str) and value:
            try:
                item[key] = base64.b64encode(bytes.fromhex(value)).decode("ascii")
            except (ValueError, binascii.Error):
                raise InvalidOtlpJson(f"invalid OTLP/JSON: {key} {value!r} is not hex") from None
