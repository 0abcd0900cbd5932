# SPDX-License-Identifier: Apache-2.0
"""Metrics and logs on both receivers, without forwarding: the SDK's own OTLP exporters succeed over gRPC and
HTTP, protobuf, OTLP/JSON and gzip are acknowledged and counted (data points, log records) in `/metrics`, and bad
input, a missing token, an oversized body or a full queue get the same clear refusals as traces, counting
nothing."""

from __future__ import annotations

import gzip
import json

import grpc
import pytest
from opentelemetry.sdk._logs.export import LogRecordExportResult
from opentelemetry.sdk.metrics.export import MetricExportResult

from llmledger.collector.exporters.clickhouse.writer import ClickHouseStore
from llmledger.collector.exporters.forward import Forwarder
from llmledger.collector.health import health_routes
from llmledger.collector.otlp.signals import LOGS, METRICS
from llmledger.collector.pipeline.pipeline import Pipeline
from llmledger.collector.pipeline.queue import DiskQueue
from llmledger.collector.receivers._access import BearerToken
from llmledger.collector.receivers._rejections import Rejections
from llmledger.collector.receivers.otlp_grpc import GrpcReceiver
from llmledger.collector.receivers.otlp_http import HttpReceiver
from tests.collector.signals import (
    METRIC_POINTS,
    log_exporter,
    logs_request,
    metric_exporter,
    metrics_request,
    otlp_json,
    sdk_logs,
    sdk_metrics,
)
from tests.collector.test_health import metrics

from .conftest import PROTOBUF, post

JSON = {"Content-Type": "application/json"}
LIMIT = 64 * 1024
TOKEN = "metrics-and-logs-token"
_POINTS = ("llmledger_collector_received_metric_points_total", ())
_METRIC_REQUESTS = ("llmledger_collector_received_metric_requests_total", ())
_RECORDS = ("llmledger_collector_received_log_records_total", ())
_LOG_REQUESTS = ("llmledger_collector_received_log_requests_total", ())


@pytest.fixture(scope="module")
def pipeline(client, tmp_path_factory):
    queue = DiskQueue(tmp_path_factory.mktemp("queue"))
    pipeline = Pipeline(ClickHouseStore(client), queue, flush_interval=0.1).start()
    yield pipeline
    pipeline.stop(timeout=10)


@pytest.fixture(scope="module")
def receivers(client, pipeline):
    rejections = Rejections()
    routes = health_routes(pipeline, client.ping, rejections)
    limits = {"max_request_bytes": LIMIT, "rejections": rejections}
    grpc_receiver = GrpcReceiver(pipeline, port=0, **limits).start()
    http_receiver = HttpReceiver(pipeline, port=0, routes=routes, **limits).start()
    yield grpc_receiver, http_receiver
    http_receiver.stop()
    grpc_receiver.stop()


def export(port: int, method: str, body: bytes, metadata: tuple[tuple[str, str], ...] = ()) -> tuple:
    """One raw gRPC call → (status code, details, response bytes)."""
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        try:
            response = channel.unary_unary(method)(body, metadata=metadata, timeout=30)
        except grpc.RpcError as error:
            return error.code(), error.details(), None
    return grpc.StatusCode.OK, "", response


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_the_sdk_exporters_deliver_metrics_and_logs_and_the_collector_counts_them(receivers, protocol):
    grpc_receiver, http_receiver = receivers
    base = f"http://127.0.0.1:{http_receiver.port}"
    before = metrics(http_receiver.port)

    if protocol == "grpc":
        metric_result = metric_exporter("grpc", f"127.0.0.1:{grpc_receiver.port}").export(sdk_metrics())
        log_result = log_exporter("grpc", f"127.0.0.1:{grpc_receiver.port}").export(sdk_logs(2))
    else:
        metric_result = metric_exporter("http", f"{base}/v1/metrics").export(sdk_metrics())
        log_result = log_exporter("http", f"{base}/v1/logs").export(sdk_logs(2))

    assert metric_result is MetricExportResult.SUCCESS
    assert log_result is LogRecordExportResult.SUCCESS
    after = metrics(http_receiver.port)
    assert after[_POINTS] - before[_POINTS] == 3  # a counter, a histogram, an up-down counter
    assert after[_METRIC_REQUESTS] - before[_METRIC_REQUESTS] == 1
    assert after[_RECORDS] - before[_RECORDS] == 2
    assert after[_LOG_REQUESTS] - before[_LOG_REQUESTS] == 1


@pytest.mark.parametrize(
    ("headers", "encode", "answer"),
    [
        (PROTOBUF, lambda request: request.SerializeToString(), b""),
        (JSON, otlp_json, b"{}"),
        ({**PROTOBUF, "Content-Encoding": "gzip"}, lambda request: gzip.compress(request.SerializeToString()), b""),
        ({**JSON, "Content-Encoding": "gzip"}, lambda request: gzip.compress(otlp_json(request)), b"{}"),
    ],
    ids=["protobuf", "json", "protobuf-gzip", "json-gzip"],
)
def test_http_acknowledges_metrics_and_logs_in_every_encoding_and_counts_them(receivers, headers, encode, answer):
    _, http_receiver = receivers
    before = metrics(http_receiver.port)

    metric_status, metric_headers, metric_body = post(
        http_receiver.port, encode(metrics_request()), headers, "/v1/metrics"
    )
    log_status, log_headers, log_body = post(http_receiver.port, encode(logs_request(4)), headers, "/v1/logs")

    assert (metric_status, metric_body) == (200, answer)
    assert (log_status, log_body) == (200, answer)
    assert metric_headers["Content-Type"] == log_headers["Content-Type"] == headers["Content-Type"]
    after = metrics(http_receiver.port)
    assert after[_POINTS] - before[_POINTS] == METRIC_POINTS
    assert after[_RECORDS] - before[_RECORDS] == 4


def test_grpc_acknowledges_raw_metrics_and_logs_with_an_empty_response(receivers):
    grpc_receiver, http_receiver = receivers
    before = metrics(http_receiver.port)

    assert export(grpc_receiver.port, METRICS.method, metrics_request().SerializeToString()) == (
        grpc.StatusCode.OK,
        "",
        b"",
    )
    assert export(grpc_receiver.port, LOGS.method, logs_request(3).SerializeToString())[0] == grpc.StatusCode.OK

    after = metrics(http_receiver.port)
    assert after[_POINTS] - before[_POINTS] == METRIC_POINTS
    assert after[_RECORDS] - before[_RECORDS] == 3


def _bad_log_json() -> bytes:
    document = json.loads(otlp_json(logs_request(1)))
    document["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]["spanId"] = "not-hex"
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    ("path", "body", "headers", "status", "message"),
    [
        ("/v1/metrics", b"\xff\xff\xff", PROTOBUF, 400, b"malformed protobuf ExportMetricsServiceRequest"),
        ("/v1/logs", b"\x0a\x05\x0a", PROTOBUF, 400, b"malformed protobuf ExportLogsServiceRequest"),
        ("/v1/logs", _bad_log_json(), JSON, 400, b"spanId 'not-hex' is not hex"),
        ("/v1/metrics", b"{nope", JSON, 400, b"invalid JSON"),
        ("/v1/metrics", b"", PROTOBUF, 400, b"empty body: expected an ExportMetricsServiceRequest"),
        ("/v1/logs", b"{}", {"Content-Type": "text/plain"}, 415, b"unsupported Content-Type"),
        ("/v1/metrics", b"x" * (LIMIT + 1), PROTOBUF, 413, b"exceeds the limit"),
        ("/v1/logs", gzip.compress(b"\0" * (4 * LIMIT)), {**PROTOBUF, "Content-Encoding": "gzip"}, 413, b"exceeds"),
        ("/v1/metrics", b"not gzip", {**PROTOBUF, "Content-Encoding": "gzip"}, 400, b"not valid gzip"),
        ("/v1/profiles", b"x", PROTOBUF, 404, b"/v1/traces, /v1/metrics or /v1/logs"),
    ],
)
def test_bad_http_input_gets_a_4xx_that_says_why_and_counts_nothing(receivers, path, body, headers, status, message):
    _, http_receiver = receivers
    before = metrics(http_receiver.port)

    got_status, _, got_body = post(http_receiver.port, body, headers, path)

    assert got_status == status
    assert message in got_body
    after = metrics(http_receiver.port)
    assert (after[_POINTS], after[_RECORDS]) == (before[_POINTS], before[_RECORDS])
    assert after[_METRIC_REQUESTS] + after[_LOG_REQUESTS] == before[_METRIC_REQUESTS] + before[_LOG_REQUESTS]


def test_a_get_of_an_export_path_is_405(receivers):
    _, http_receiver = receivers
    assert post(http_receiver.port, path="/v1/metrics", method="GET")[0] == 405
    assert post(http_receiver.port, path="/v1/logs", method="PUT", body=b"")[0] == 405


@pytest.mark.parametrize(
    ("method", "body", "code", "message"),
    [
        (METRICS.method, b"\xff\xff\xff", grpc.StatusCode.INVALID_ARGUMENT, "malformed ExportMetricsServiceRequest"),
        (LOGS.method, b"\x0a\x05\x0a", grpc.StatusCode.INVALID_ARGUMENT, "malformed ExportLogsServiceRequest"),
        (LOGS.method, b"\x0a" + b"x" * (LIMIT + 1), grpc.StatusCode.RESOURCE_EXHAUSTED, ""),
    ],
)
def test_bad_grpc_input_is_refused_with_a_status_that_says_why(receivers, method, body, code, message):
    grpc_receiver, http_receiver = receivers
    before = metrics(http_receiver.port)

    got_code, details, _ = export(grpc_receiver.port, method, body)

    assert got_code == code
    assert message in details
    after = metrics(http_receiver.port)
    assert (after[_POINTS], after[_RECORDS]) == (before[_POINTS], before[_RECORDS])


def test_bad_input_is_counted_among_the_rejected_requests(receivers):
    grpc_receiver, http_receiver = receivers
    malformed = ("llmledger_collector_rejected_requests_total", (("protocol", "grpc"), ("reason", "malformed")))
    before = metrics(http_receiver.port).get(malformed, 0)

    export(grpc_receiver.port, METRICS.method, b"\xff")

    assert metrics(http_receiver.port)[malformed] == before + 1


@pytest.fixture(scope="module")
def guarded(pipeline):
    token = BearerToken(TOKEN)
    grpc_receiver = GrpcReceiver(pipeline, port=0, token=token).start()
    http_receiver = HttpReceiver(pipeline, port=0, token=token).start()
    yield grpc_receiver, http_receiver
    http_receiver.stop()
    grpc_receiver.stop()


def test_the_token_guards_metrics_and_logs_as_it_guards_traces(guarded):
    grpc_receiver, http_receiver = guarded
    body = metrics_request().SerializeToString()
    authorized = {**PROTOBUF, "Authorization": f"Bearer {TOKEN}"}

    assert post(http_receiver.port, body, PROTOBUF, "/v1/metrics")[0] == 401
    assert post(http_receiver.port, body, {**authorized, "Authorization": "Bearer wrong"}, "/v1/logs")[0] == 401
    assert post(http_receiver.port, body, authorized, "/v1/metrics")[0] == 200
    assert export(grpc_receiver.port, LOGS.method, b"")[0] == grpc.StatusCode.UNAUTHENTICATED
    assert (
        export(grpc_receiver.port, LOGS.method, b"", (("authorization", f"Bearer {TOKEN}"),))[0] == grpc.StatusCode.OK
    )


@pytest.fixture
def full(client, tmp_path):
    """Receivers on a forwarding pipeline whose queue is full of what storage has yet to write."""
    queue = DiskQueue(tmp_path / "queue", ("store", "forward"), max_bytes=1 << 16, sheddable=("forward",))
    while queue.size() < queue.max_bytes - 100:
        queue.append(b"." * min(4096, queue.max_bytes - queue.size() - 100))
    pipeline = Pipeline(ClickHouseStore(client), queue, forwarder=Forwarder("grpc://127.0.0.1:9"))  # never started
    grpc_receiver = GrpcReceiver(pipeline, port=0).start()
    http_receiver = HttpReceiver(pipeline, port=0).start()
    yield grpc_receiver, http_receiver
    http_receiver.stop()
    grpc_receiver.stop()
    queue.close()


def test_a_full_queue_refuses_metrics_and_logs_with_a_retry_delay(full):
    grpc_receiver, http_receiver = full

    status, headers, body = post(http_receiver.port, metrics_request().SerializeToString(), PROTOBUF, "/v1/metrics")
    code, details, _ = export(grpc_receiver.port, LOGS.method, logs_request().SerializeToString())

    assert (status, headers["Retry-After"]) == (429, "1")
    assert b"queue is full" in body
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "retry after 1 s" in details
