# SPDX-License-Identifier: Apache-2.0
"""Forwarding metrics and logs with the traces: each signal reaches the same target, over gRPC at its own service
and over HTTP at its own path, byte for byte as it came (OTLP/JSON as its protobuf encoding); what was
acknowledged survives a dead target and a kill -9; a target that takes traces only (Jaeger) has the other
signals dropped and counted with one warning, never retried forever; and a second collector downstream counts
what the first passed on."""

from __future__ import annotations

import functools
import gzip
import logging
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
import pytest
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.sdk._logs.export import LogRecordExportResult
from opentelemetry.sdk.metrics.export import MetricExportResult

from llmledger.collector.exporters.clickhouse.embedded import free_port
from llmledger.collector.exporters.clickhouse.writer import ClickHouseStore
from llmledger.collector.exporters.forward import CONSUMER as FORWARD
from llmledger.collector.exporters.forward import Forwarder, signal_urls
from llmledger.collector.otlp.signals import LOGS, METRICS, Signal, method
from llmledger.collector.pipeline.pipeline import Backpressure, Pipeline, RequestTooLarge
from llmledger.collector.pipeline.queue import DiskQueue
from llmledger.collector.pipeline.records import forward_record, forwarded
from tests.collector.receivers.conftest import PROTOBUF, otlp_body, post
from tests.collector.running import start_collector, wait_for
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

_PATHS: dict[str, Signal] = {"/v1/traces": "traces", "/v1/metrics": "metrics", "/v1/logs": "logs"}


class Target:
    """A loopback OTLP receiver on both protocols that keeps every request's bytes by signal; it serves only
    `signals` (the others: gRPC UNIMPLEMENTED, HTTP 404, as a Jaeger or a traces-only Collector answers)."""

    def __init__(self, signals: tuple[Signal, ...] = ("traces", "metrics", "logs")) -> None:
        self.received: list[tuple[Signal, bytes]] = []
        self._lock = threading.Lock()
        self._grpc = grpc.server(ThreadPoolExecutor(4))
        handlers = []
        for signal in signals:
            export = grpc.unary_unary_rpc_method_handler(functools.partial(self._export, signal))
            handlers.append(grpc.method_handlers_generic_handler(method(signal).split("/")[1], {"Export": export}))
        self._grpc.add_generic_rpc_handlers(handlers)
        self.grpc_port = self._grpc.add_insecure_port("127.0.0.1:0")
        self._grpc.start()
        target = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                signal = _PATHS.get(self.path)
                status = 200 if signal in signals else 404
                if signal is not None and status == 200:
                    target._keep(signal, body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.http_port = self._http.server_address[1]
        threading.Thread(target=self._http.serve_forever, daemon=True).start()

    def _export(self, signal: Signal, body: bytes, context: Any) -> bytes:
        self._keep(signal, body)
        return b""

    def _keep(self, signal: Signal, body: bytes) -> None:
        with self._lock:
            self.received.append((signal, body))

    def of(self, signal: Signal) -> list[bytes]:
        """The bodies received of `signal`, sorted (several are sent at once: their order is not kept)."""
        with self._lock:
            return sorted(body for kind, body in self.received if kind == signal)

    def close(self) -> None:
        self._grpc.stop(0)
        self._http.shutdown()
        self._http.server_close()


@pytest.fixture
def target() -> Iterator[Target]:
    serving = Target()
    yield serving
    serving.close()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://jaeger:4318", ("/v1/traces", "/v1/metrics", "/v1/logs")),
        ("https://jaeger:4318/", ("/v1/traces", "/v1/metrics", "/v1/logs")),
        ("http://gateway/otlp/v1/traces", ("/otlp/v1/traces", "/otlp/v1/metrics", "/otlp/v1/logs")),
        ("http://gateway/otlp", ("/otlp", "/otlp/v1/metrics", "/otlp/v1/logs")),
    ],
)
def test_an_http_forward_url_names_the_traces_path_and_metrics_and_logs_go_to_its_siblings(url, expected):
    urls = signal_urls(url)
    base = url.split("/", 3)[:3]
    assert [urls[signal] for signal in ("traces", "metrics", "logs")] == ["/".join(base) + path for path in expected]


def test_forward_records_carry_their_signal_and_the_writer_skips_them():
    from llmledger.collector.pipeline.records import rows

    for signal in ("traces", "metrics", "logs"):
        record = forward_record(b"\x0a\x00bytes", signal)
        assert forwarded(record) == (signal, b"\x0a\x00bytes")
        assert rows(record) is None


@pytest.mark.parametrize("scheme", ["grpc", "http"])
def test_each_signal_reaches_the_target_at_its_own_service_or_path_unchanged(tmp_path, target, scheme):
    queue = DiskQueue(tmp_path / "queue", (FORWARD,))
    url = f"grpc://127.0.0.1:{target.grpc_port}" if scheme == "grpc" else f"http://127.0.0.1:{target.http_port}"
    forwarder = Forwarder(url).start(queue)
    sent = {
        "traces": otlp_body(),
        "metrics": metrics_request().SerializeToString(),
        "logs": logs_request().SerializeToString(),
    }
    try:
        queue.append(*(forward_record(body, signal) for signal, body in sent.items()))
        assert wait_for(lambda: len(target.received), 3) == 3
        assert {signal: target.of(signal) for signal in sent} == {signal: [body] for signal, body in sent.items()}
        forwarder.stop()
        assert queue.lag(FORWARD) == 0
        assert (forwarder.stats.sent, forwarder.stats.failed, forwarder.stats.unsupported) == (3, 0, 0)
    finally:
        queue.close()


@pytest.mark.parametrize("scheme", ["grpc", "http"])
def test_a_target_taking_traces_only_gets_them_and_the_rest_is_dropped_counted_with_one_warning(
    tmp_path, scheme, caplog
):
    jaeger = Target(signals=("traces",))
    queue = DiskQueue(tmp_path / "queue", (FORWARD,))
    url = f"grpc://127.0.0.1:{jaeger.grpc_port}" if scheme == "grpc" else f"http://127.0.0.1:{jaeger.http_port}"
    forwarder = Forwarder(url, initial_backoff=0.05).start(queue)
    records = [forward_record(metrics_request().SerializeToString(), "metrics") for _ in range(3)]
    records.append(forward_record(otlp_body(), "traces"))
    try:
        with caplog.at_level(logging.WARNING, logger="llmledger.collector.exporters.forward"):
            queue.append(*records)
            assert wait_for(lambda: forwarder.stats.sent + forwarder.stats.unsupported, 4) == 4
        assert len(jaeger.of("traces")) == 1
        assert (forwarder.stats.sent, forwarder.stats.unsupported, forwarder.stats.retries) == (1, 3, 0)
        warnings = [record.getMessage() for record in caplog.records if "does not take" in record.getMessage()]
        assert len(warnings) == 1
        assert "OTLP metrics" in warnings[0]
        forwarder.stop()
        assert queue.lag(FORWARD) == 0  # dropped for good, not retried after a restart
    finally:
        queue.close()
        jaeger.close()


def test_metrics_and_logs_a_dead_target_did_not_get_are_sent_after_a_restart(tmp_path, target):
    dead = Forwarder(f"http://127.0.0.1:{free_port()}", initial_backoff=0.05).start(
        DiskQueue(tmp_path / "queue", (FORWARD,))
    )
    assert dead.queue is not None
    metrics_body, logs_body = metrics_request().SerializeToString(), logs_request().SerializeToString()
    dead.queue.append(forward_record(metrics_body, "metrics"), forward_record(logs_body, "logs"))
    assert wait_for(lambda: dead.stats.retries > 0, True, timeout=10)
    dead.stop(drain_timeout=0.1)
    dead.queue.close()

    queue = DiskQueue(tmp_path / "queue", (FORWARD,))
    alive = Forwarder(f"http://127.0.0.1:{target.http_port}").start(queue)
    try:
        assert wait_for(lambda: len(target.received), 2) == 2
        assert (target.of("metrics"), target.of("logs")) == ([metrics_body], [logs_body])
        alive.stop()
        assert queue.lag(FORWARD) == 0
    finally:
        queue.close()


# -- the pipeline --------------------------------------------------------------------------------------------
@pytest.fixture
def forwarding(client, tmp_path):
    """A pipeline with a forwarder (never started: what it queues stays in the queue to be looked at)."""
    queue = DiskQueue(tmp_path / "queue", ("store", FORWARD), max_bytes=1 << 16)
    pipeline = Pipeline(ClickHouseStore(client), queue, forwarder=Forwarder(f"grpc://127.0.0.1:{free_port()}"))
    yield pipeline
    queue.close()


def _queued(queue: DiskQueue) -> list[tuple[Signal, memoryview] | None]:
    found, position = [], 0
    while records := queue.read(position):
        found += [forwarded(record.payload) for record in records]
        position = records[-1].end
    return found


def test_an_accepted_metrics_or_logs_request_is_in_the_queue_when_accept_returns(forwarding):
    body = metrics_request().SerializeToString()

    forwarding.accept_signal(METRICS, metrics_request(), body)
    forwarding.accept_signal(LOGS, logs_request(2))  # OTLP/JSON: no protobuf bytes, encoded here

    assert _queued(forwarding.queue) == [("metrics", body), ("logs", logs_request(2).SerializeToString())]
    counters = forwarding.counters()
    assert (counters["received_metric_points"], counters["received_log_records"]) == (METRIC_POINTS, 2)


def test_a_request_the_queue_cannot_take_is_refused_and_not_counted(forwarding):
    huge = logs_request(1)
    huge.resource_logs[0].scope_logs[0].log_records[0].body.string_value = "x" * (1 << 17)
    with pytest.raises(RequestTooLarge, match="raise --queue-max-bytes"):
        forwarding.accept_signal(LOGS, huge)
    accepted = 0
    with pytest.raises(Backpressure, match="queue is full"):
        while True:  # until the queue is full
            forwarding.accept_signal(LOGS, logs_request(20))
            accepted += 1
    counters = forwarding.counters()
    assert accepted > 0
    assert counters["received_log_requests"] == accepted
    assert counters["received_log_records"] == 20 * accepted
    assert len(_queued(forwarding.queue)) == accepted


def test_without_a_forwarder_nothing_is_queued_and_everything_is_counted(client, tmp_path):
    queue = DiskQueue(tmp_path / "queue")
    pipeline = Pipeline(ClickHouseStore(client), queue)
    try:
        pipeline.accept_signal(METRICS, metrics_request())
        pipeline.accept_signal(LOGS, logs_request(3))
        assert queue.size() == 0
        counters = pipeline.counters()
        assert (counters["received_metric_requests"], counters["received_metric_points"]) == (1, METRIC_POINTS)
        assert (counters["received_log_requests"], counters["received_log_records"]) == (1, 3)
    finally:
        queue.close()


# -- the collector, end to end -------------------------------------------------------------------------------
def _grpc_export(port: int, export_method: str, body: bytes) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        channel.unary_unary(export_method)(body, timeout=30)


def test_the_collector_forwards_metrics_and_logs_from_both_receivers_unchanged_with_the_traces(
    clickhouse, database, target
):
    collector = start_collector(
        [
            "--clickhouse-url",
            clickhouse.url,
            "--database",
            database,
            "--forward",
            f"grpc://127.0.0.1:{target.grpc_port}",
        ]
    )
    try:
        port = collector.http_port
        metrics_body = metrics_request().SerializeToString()
        logs_body = logs_request(2).SerializeToString()
        trace_body = otlp_body()
        assert post(port, metrics_body, PROTOBUF, "/v1/metrics")[0] == 200
        assert post(port, gzip.compress(logs_body), {**PROTOBUF, "Content-Encoding": "gzip"}, "/v1/logs")[0] == 200
        assert post(port, otlp_json(logs_request(5)), {"Content-Type": "application/json"}, "/v1/logs")[0] == 200
        assert post(port, trace_body, PROTOBUF, "/v1/traces")[0] == 200
        _grpc_export(collector.grpc_port, METRICS.method, metrics_body)

        assert wait_for(lambda: len(target.received), 5) == 5
        assert target.of("metrics") == [metrics_body, metrics_body]
        assert target.of("logs") == sorted([logs_body, logs_request(5).SerializeToString()])
        assert target.of("traces") == [trace_body]
        counters = metrics(port)
        assert counters[("llmledger_collector_forwarded_requests_total", ())] == 5
        assert counters[("llmledger_collector_received_metric_points_total", ())] == 2 * METRIC_POINTS
        assert counters[("llmledger_collector_received_log_records_total", ())] == 7
    finally:
        assert collector.stop() == 0, collector.text


def test_a_second_collector_downstream_counts_what_the_first_passed_on(clickhouse, database):
    second = start_collector(["--clickhouse-url", clickhouse.url, "--database", database])
    first = start_collector(
        [
            "--clickhouse-url",
            clickhouse.url,
            "--database",
            database,
            "--forward",
            f"http://127.0.0.1:{second.http_port}",
        ]
    )
    try:
        endpoint = f"127.0.0.1:{first.grpc_port}"
        assert metric_exporter("grpc", endpoint).export(sdk_metrics()) is MetricExportResult.SUCCESS
        assert log_exporter("grpc", endpoint).export(sdk_logs(2)) is LogRecordExportResult.SUCCESS
        points = ("llmledger_collector_received_metric_points_total", ())
        records = ("llmledger_collector_received_log_records_total", ())
        assert wait_for(lambda: metrics(second.http_port)[records], 2) == 2
        assert metrics(second.http_port)[points] == 3
        assert "metrics and logs are acknowledged, counted and dropped" in second.text
    finally:
        assert first.stop() == 0, first.text
        assert second.stop() == 0, second.text


def test_metrics_and_logs_acknowledged_before_a_kill_9_are_forwarded_after_the_restart(
    clickhouse, database, target, tmp_path
):
    queue = str(tmp_path / "queue")
    options = ["--clickhouse-url", clickhouse.url, "--database", database, "--queue-dir", queue]
    stranded = start_collector([*options, "--forward", f"http://127.0.0.1:{free_port()}"])  # nobody listens there
    sent_metrics = encode_metrics(sdk_metrics()).SerializeToString()
    sent_logs = encode_logs(sdk_logs(3)).SerializeToString()
    try:
        assert post(stranded.http_port, sent_metrics, PROTOBUF, "/v1/metrics")[0] == 200
        assert post(stranded.http_port, sent_logs, PROTOBUF, "/v1/logs")[0] == 200
    finally:
        stranded.process.kill()
        stranded.process.wait(30)

    restarted = start_collector([*options, "--forward", f"http://127.0.0.1:{target.http_port}"])
    try:
        assert wait_for(lambda: len(target.received), 2) == 2
        assert (target.of("metrics"), target.of("logs")) == ([sent_metrics], [sent_logs])
    finally:
        assert restarted.stop() == 0, restarted.text
