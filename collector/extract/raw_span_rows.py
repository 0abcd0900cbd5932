# SPDX-License-Identifier: Apache-2.0
"""Rows for `otel_traces`, value for value as the OpenTelemetry Collector's ClickHouse exporter writes them.

Same 22 columns as the exporter's INSERT, same encodings: lower-hex ids ('' when absent), pdata's
`SpanKind.String()` (`Unspecified|Internal|Server|Client|Producer|Consumer`) and `StatusCode.String()`
(`Unset|Ok|Error`), every attribute value stringified as pdata `Value.AsString()`, `Timestamp` = span start
(clamped to `bounds.MAX_TIMESTAMP_NS`, so one absurd span cannot fail its batch's insert), `Duration` = end − start
in ns, `ServiceName` = the resource's `service.name`. Tools reading the exporter's table (Grafana's ClickHouse
plugin, ClickStack, Jaeger-on-ClickHouse readers) then read ours unchanged.
"""

from __future__ import annotations

from typing import Any, Final

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from ..otlp.values import as_string, attributes_as_strings
from .bounds import MAX_TIMESTAMP_NS

COLUMNS: Final = (
    "Timestamp",
    "TraceId",
    "SpanId",
    "ParentSpanId",
    "TraceState",
    "SpanName",
    "SpanKind",
    "ServiceName",
    "ResourceAttributes",
    "ScopeName",
    "ScopeVersion",
    "SpanAttributes",
    "Duration",
    "StatusCode",
    "StatusMessage",
    "Events.Timestamp",
    "Events.Name",
    "Events.Attributes",
    "Links.TraceId",
    "Links.SpanId",
    "Links.TraceState",
    "Links.Attributes",
)
SPAN_KINDS: Final = ("Unspecified", "Internal", "Server", "Client", "Producer", "Consumer")
STATUS_CODES: Final = ("Unset", "Ok", "Error")


def raw_span_rows(request: ExportTraceServiceRequest) -> list[list[Any]]:
    """One row per span of `request`, in `COLUMNS` order."""
    rows: list[list[Any]] = []
    for resource_spans in request.resource_spans:
        resource = attributes_as_strings(resource_spans.resource.attributes)
        service = resource.get("service.name", "")
        for scope_spans in resource_spans.scope_spans:
            scope_name = scope_spans.scope.name
            scope_version = scope_spans.scope.version
            for span in scope_spans.spans:
                start = span.start_time_unix_nano
                end = span.end_time_unix_nano
                events = span.events
                links = span.links
                kind = span.kind
                status = span.status.code
                rows.append(
                    [
                        min(start, MAX_TIMESTAMP_NS),
                        span.trace_id.hex(),
                        span.span_id.hex(),
                        span.parent_span_id.hex(),
                        span.trace_state,
                        span.name,
                        SPAN_KINDS[kind] if 0 <= kind < len(SPAN_KINDS) else "",
                        service,
                        resource,
                        scope_name,
                        scope_version,
                        {kv.key: as_string(kv.value) for kv in span.attributes},
                        end - start if end > start else 0,
                        STATUS_CODES[status] if 0 <= status < len(STATUS_CODES) else "",
                        span.status.message,
                        [min(event.time_unix_nano, MAX_TIMESTAMP_NS) for event in events],
                        [event.name for event in events],
                        [attributes_as_strings(event.attributes) for event in events],
                        [link.trace_id.hex() for link in links],
                        [link.span_id.hex() for link in links],
                        [link.trace_state for link in links],
                        [attributes_as_strings(link.attributes) for link in links],
                    ]
                )
    return rows
