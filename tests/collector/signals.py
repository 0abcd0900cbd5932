# SPDX-License-Identifier: Apache-2.0
"""Metrics and logs for the tests, as requests built by hand (every metric type, ids in exemplars and log
records, known counts) and as the OpenTelemetry SDK makes them, with its own OTLP exporters to send them.

* `metrics_request()` — an ExportMetricsServiceRequest of `METRIC_POINTS` data points: one metric of each type
  (gauge, sum, histogram with an exemplar, exponential histogram, summary) and one with no data.
* `logs_request(count)` — an ExportLogsServiceRequest of `count` log records carrying trace and span ids.
* `otlp_json(request)` — OTLP/JSON as SDKs write it: protobuf JSON with hex trace and span ids.
* `sdk_metrics()` / `sdk_logs()` — what an instrumented app's SDK hands its exporters.
* `metric_exporter(protocol, endpoint)` / `log_exporter(protocol, endpoint)` — the SDK's OTLP exporters.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message
from opentelemetry._logs import SeverityNumber
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from opentelemetry.proto.metrics.v1 import metrics_pb2 as pb
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.sdk._logs import LoggerProvider, ReadableLogRecord
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, MetricsData

TRACE_ID = bytes.fromhex("5b8efff798038103d269b633813fc60c")
SPAN_ID = bytes.fromhex("eee19b7ec3c1b174")
METRIC_POINTS = 6
_RESOURCE = Resource(attributes=[KeyValue(key="service.name", value=AnyValue(string_value="shop"))])
_TIME = 1_700_000_000_000_000_000
_ID_KEYS = ("traceId", "spanId", "parentSpanId")


def metrics_request() -> ExportMetricsServiceRequest:
    exemplar = pb.Exemplar(time_unix_nano=_TIME, as_double=0.25, trace_id=TRACE_ID, span_id=SPAN_ID)
    metrics = [
        pb.Metric(name="queue.depth", gauge=pb.Gauge(data_points=[pb.NumberDataPoint(time_unix_nano=_TIME, as_int=7)])),
        pb.Metric(
            name="gen_ai.client.token.usage.total",
            sum=pb.Sum(
                data_points=[
                    pb.NumberDataPoint(time_unix_nano=_TIME, as_int=1149),
                    pb.NumberDataPoint(time_unix_nano=_TIME, as_double=0.5),
                ],
                aggregation_temporality=pb.AGGREGATION_TEMPORALITY_CUMULATIVE,
                is_monotonic=True,
            ),
        ),
        pb.Metric(
            name="gen_ai.client.operation.duration",
            unit="s",
            histogram=pb.Histogram(
                data_points=[
                    pb.HistogramDataPoint(
                        time_unix_nano=_TIME,
                        count=2,
                        sum=0.75,
                        bucket_counts=[1, 1],
                        explicit_bounds=[0.5],
                        exemplars=[exemplar],
                    )
                ],
                aggregation_temporality=pb.AGGREGATION_TEMPORALITY_DELTA,
            ),
        ),
        pb.Metric(
            name="latency.exp",
            exponential_histogram=pb.ExponentialHistogram(
                data_points=[pb.ExponentialHistogramDataPoint(time_unix_nano=_TIME, count=1, scale=2, zero_count=1)]
            ),
        ),
        pb.Metric(
            name="latency.summary",
            summary=pb.Summary(data_points=[pb.SummaryDataPoint(time_unix_nano=_TIME, count=3, sum=1.5)]),
        ),
        pb.Metric(name="declared.but.empty"),
    ]
    scope = pb.ScopeMetrics(scope=InstrumentationScope(name="shop", version="1.0"), metrics=metrics)
    return ExportMetricsServiceRequest(resource_metrics=[pb.ResourceMetrics(resource=_RESOURCE, scope_metrics=[scope])])


def logs_request(count: int = 3) -> ExportLogsServiceRequest:
    records = [
        LogRecord(
            time_unix_nano=_TIME + index,
            severity_number=13,
            severity_text="WARN",
            body=AnyValue(string_value=f"order {index} is late"),
            attributes=[KeyValue(key="order.id", value=AnyValue(int_value=index))],
            trace_id=TRACE_ID,
            span_id=SPAN_ID,
        )
        for index in range(count)
    ]
    scope = ScopeLogs(scope=InstrumentationScope(name="shop"), log_records=records)
    return ExportLogsServiceRequest(resource_logs=[ResourceLogs(resource=_RESOURCE, scope_logs=[scope])])


def otlp_json(request: Message) -> bytes:
    """OTLP/JSON as SDKs write it: protobuf JSON with hex ids, wherever they are."""
    return json.dumps(_hex_ids(json_format.MessageToDict(request, use_integers_for_enums=True))).encode()


def _hex_ids(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: base64.b64decode(item).hex() if key in _ID_KEYS and isinstance(item, str) else _hex_ids(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_hex_ids(item) for item in value]
    return value


def sdk_metrics() -> MetricsData:
    """A counter, a histogram and an up-down counter, recorded once each by the SDK."""
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    meter = provider.get_meter("shop")
    meter.create_counter("orders").add(3, {"region": "eu"})
    meter.create_histogram("gen_ai.client.operation.duration", unit="s").record(0.42)
    meter.create_up_down_counter("queue.depth").add(-1)
    data = reader.get_metrics_data()
    provider.shutdown()
    assert data is not None
    return data


def sdk_logs(count: int = 2) -> tuple[ReadableLogRecord, ...]:
    """`count` warnings emitted through the SDK's logger."""
    memory = InMemoryLogRecordExporter()
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(memory))
    logger = provider.get_logger("shop")
    for index in range(count):
        logger.emit(severity_number=SeverityNumber.WARN, severity_text="WARN", body=f"order {index} is late")
    provider.shutdown()
    return memory.get_finished_logs()


def metric_exporter(protocol: str, endpoint: str, **options: Any) -> Any:
    """The SDK's OTLP metric exporter: `grpc` to host:port, `http` to a full /v1/metrics URL."""
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcExporter

        return GrpcExporter(endpoint=endpoint, insecure=True, **options)
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpExporter

    return HttpExporter(endpoint=endpoint, **options)


def log_exporter(protocol: str, endpoint: str, **options: Any) -> Any:
    """The SDK's OTLP log exporter: `grpc` to host:port, `http` to a full /v1/logs URL."""
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcExporter

        return GrpcExporter(endpoint=endpoint, insecure=True, **options)
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpExporter

    return HttpExporter(endpoint=endpoint, **options)
