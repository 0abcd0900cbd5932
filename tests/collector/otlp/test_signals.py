# SPDX-License-Identifier: Apache-2.0
"""Metrics and logs as the collector sees them: what each request counts (data points of every metric type, log
records), OTLP/JSON read back exactly (hex ids in exemplars and log records), and bad documents named."""

from __future__ import annotations

import json

import pytest
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

from llmledger.collector.otlp.jsonformat import InvalidOtlpJson
from llmledger.collector.otlp.signals import LOGS, METRICS, method
from tests.collector.signals import (
    METRIC_POINTS,
    SPAN_ID,
    TRACE_ID,
    logs_request,
    metrics_request,
    otlp_json,
    sdk_logs,
    sdk_metrics,
)


def test_metrics_count_the_data_points_of_every_metric_type():
    assert METRICS.count(metrics_request()) == METRIC_POINTS
    assert METRICS.count(encode_metrics(sdk_metrics())) == 3  # a counter, a histogram, an up-down counter
    assert METRICS.count(ExportMetricsServiceRequest()) == 0


def test_logs_count_their_records():
    assert LOGS.count(logs_request(5)) == 5
    assert LOGS.count(encode_logs(sdk_logs(2))) == 2
    assert LOGS.count(ExportLogsServiceRequest()) == 0


def test_each_signal_names_its_grpc_method_and_http_path():
    assert METRICS.method == "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"
    assert LOGS.method == "/opentelemetry.proto.collector.logs.v1.LogsService/Export"
    assert method("traces") == "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
    assert (METRICS.path, LOGS.path) == ("/v1/metrics", "/v1/logs")
    assert (METRICS.request_name, LOGS.request_name) == ("ExportMetricsServiceRequest", "ExportLogsServiceRequest")


def test_otlp_json_reads_back_the_same_requests_hex_ids_included():
    metrics = METRICS.parse_json(otlp_json(metrics_request()))
    assert metrics == metrics_request()
    exemplar = metrics.resource_metrics[0].scope_metrics[0].metrics[2].histogram.data_points[0].exemplars[0]
    assert (exemplar.trace_id, exemplar.span_id) == (TRACE_ID, SPAN_ID)
    logs = LOGS.parse_json(otlp_json(logs_request()))
    assert logs == logs_request()
    record = logs.resource_logs[0].scope_logs[0].log_records[0]
    assert (record.trace_id, record.span_id, record.severity_number) == (TRACE_ID, SPAN_ID, 13)


def _log_document(**record: object) -> bytes:
    document = json.loads(otlp_json(logs_request(1)))
    document["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0].update(record)
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    ("signal", "body", "message"),
    [
        (METRICS, b"{not json", "invalid JSON"),
        (METRICS, b"[]", "JSON object with resourceMetrics"),
        (LOGS, b'"text"', "JSON object with resourceLogs"),
        (LOGS, _log_document(traceId="zz"), "traceId 'zz' is not hex"),
        (LOGS, _log_document(timeUnixNano="yesterday"), "invalid OTLP/JSON.*timeUnixNano"),
        (METRICS, b'{"resourceMetrics": [{"scopeMetrics": {"metrics": 1}}]}', "invalid OTLP/JSON"),
    ],
)
def test_bad_documents_say_what_is_wrong(signal, body, message):
    with pytest.raises(InvalidOtlpJson, match=message):
        signal.parse_json(body)


def test_unknown_fields_are_ignored_as_the_spec_asks():
    document = json.loads(otlp_json(metrics_request()))
    document["resourceMetrics"][0]["someFutureField"] = {"x": 1}
    assert METRICS.parse_json(json.dumps(document).encode()) == metrics_request()
