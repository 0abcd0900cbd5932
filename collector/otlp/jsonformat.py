# SPDX-License-Identifier: Apache-2.0
"""OTLP/JSON → `ExportTraceServiceRequest`, `ExportMetricsServiceRequest`, `ExportLogsServiceRequest`.

OTLP/JSON is protobuf's JSON mapping (lowerCamelCase names, int64 as strings, enums as integers) with one
exception: trace and span ids are hex, not base64. So ids are rewritten to base64 and protobuf's own parser
does the rest; unknown fields are ignored, as the OTLP spec asks of receivers. Ids sit on spans and their links
(traces), on the exemplars of metric data points (metrics) and on log records (logs).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, TypeVar

from google.protobuf import json_format
from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

_ID_FIELDS = ("traceId", "spanId", "parentSpanId")
_METRIC_KINDS = ("gauge", "sum", "histogram", "exponentialHistogram", "summary")
_Request = TypeVar("_Request", bound=Message)


class InvalidOtlpJson(ValueError):
    """The body is not an OTLP/JSON export request; the message says where it goes wrong."""


def parse(body: bytes) -> ExportTraceServiceRequest:
    document = _document(body, "resourceSpans")
    for resource_spans in _items(document, "resourceSpans"):
        for scope_spans in _items(resource_spans, "scopeSpans"):
            for span in _items(scope_spans, "spans"):
                _ids_to_base64(span)
                for link in _items(span, "links"):
                    _ids_to_base64(link)
    return _message(document, ExportTraceServiceRequest())


def parse_metrics(body: bytes) -> ExportMetricsServiceRequest:
    document = _document(body, "resourceMetrics")
    for resource_metrics in _items(document, "resourceMetrics"):
        for scope_metrics in _items(resource_metrics, "scopeMetrics"):
            for metric in _items(scope_metrics, "metrics"):
                for kind in _METRIC_KINDS:
                    data = metric.get(kind) if isinstance(metric, dict) else None
                    for point in _items(data, "dataPoints"):
                        for exemplar in _items(point, "exemplars"):
                            _ids_to_base64(exemplar)
    return _message(document, ExportMetricsServiceRequest())


def parse_logs(body: bytes) -> ExportLogsServiceRequest:
    document = _document(body, "resourceLogs")
    for resource_logs in _items(document, "resourceLogs"):
        for scope_logs in _items(resource_logs, "scopeLogs"):
            for record in _items(scope_logs, "logRecords"):
                _ids_to_base64(record)
    return _message(document, ExportLogsServiceRequest())


def _document(body: bytes, top: str) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidOtlpJson(f"invalid JSON: {error}") from None
    except RecursionError:
        raise InvalidOtlpJson("invalid OTLP/JSON: nested too deeply") from None
    if not isinstance(document, dict):
        raise InvalidOtlpJson(f"invalid OTLP/JSON: the body must be a JSON object with {top}")
    return document


def _message(document: dict[str, Any], request: _Request) -> _Request:
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
