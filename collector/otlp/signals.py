# SPDX-License-Identifier: Apache-2.0
"""The OTLP signals the collector takes besides traces: metrics and logs, as the receivers and the forwarder see
them.

The collector reads traces for their LLM calls; metrics and logs it only passes on (`Pipeline.accept_signal`):
forwarded with the traces when forwarding, else counted and dropped. So of these two it needs what each
protocol calls them (the gRPC service whose `Export` takes the request, the OTLP/HTTP path), how to parse a
request (which is all the validation they get), and how many items one holds, for the counters and messages:

    METRICS.request.FromString(body)     an ExportMetricsServiceRequest (DecodeError if it is not one)
    METRICS.parse_json(body)             the same from OTLP/JSON (InvalidOtlpJson naming what is wrong)
    METRICS.count(request)               its data points (of every metric type); LOGS.count: its log records
    METRICS.method                       "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

from .jsonformat import parse_logs, parse_metrics

Signal = Literal["traces", "metrics", "logs"]
TRACES_SERVICE = "opentelemetry.proto.collector.trace.v1.TraceService"


@dataclass(frozen=True, slots=True)
class PassedSignal:
    """A signal the collector passes on without reading: what it is called and how to parse and count it."""

    name: Signal
    request: type[Message]  # the Export…ServiceRequest
    service: str  # the gRPC service whose `Export` method takes `request`
    path: str  # the OTLP/HTTP path
    items: str  # what `count` counts, in messages and counter names
    count: Callable[[Any], int]
    parse_json: Callable[[bytes], Message]

    @property
    def method(self) -> str:
        """The gRPC method path of `Export`."""
        return f"/{self.service}/Export"

    @property
    def request_name(self) -> str:
        return self.request.DESCRIPTOR.name


def method(signal: Signal) -> str:
    """The gRPC method path a request of `signal` goes to."""
    return f"/{TRACES_SERVICE}/Export" if signal == "traces" else PASSED[signal].method


def data_points(request: ExportMetricsServiceRequest) -> int:
    """Data points in the request, whatever each metric's type (gauge, sum, histogram, exponential histogram,
    summary); a metric with no data counts none."""
    total = 0
    for resource_metrics in request.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                kind = metric.WhichOneof("data")
                if kind is not None:
                    total += len(getattr(metric, kind).data_points)
    return total


def log_records(request: ExportLogsServiceRequest) -> int:
    return sum(len(scope.log_records) for resource in request.resource_logs for scope in resource.scope_logs)


METRICS = PassedSignal(
    "metrics",
    ExportMetricsServiceRequest,
    "opentelemetry.proto.collector.metrics.v1.MetricsService",
    "/v1/metrics",
    "metric data points",
    data_points,
    parse_metrics,
)
LOGS = PassedSignal(
    "logs",
    ExportLogsServiceRequest,
    "opentelemetry.proto.collector.logs.v1.LogsService",
    "/v1/logs",
    "log records",
    log_records,
    parse_logs,
)
PASSED: dict[Signal, PassedSignal] = {"metrics": METRICS, "logs": LOGS}
