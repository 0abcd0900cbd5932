# SPDX-License-Identifier: Apache-2.0
"""Forwarding: every span reaches another OTLP receiver unchanged — rotel (a real non-Python collector) over
gRPC, and a second llmledger collector over HTTP — retries ride out a receiver's 503s, several requests are in
flight at once, and what a dead target did not get, or a stop caught still retrying, stays queued for the next
start."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from llmledger.collector.exporters.clickhouse import migrations
from llmledger.collector.exporters.clickhouse.embedded import free_port
from llmledger.collector.exporters.forward import CONSUMER as FORWARD
from llmledger.collector.exporters.forward import Forwarder
from llmledger.collector.pipeline.queue import DiskQueue
from llmledger.collector.pipeline.records import forward_record
from tests.collector.conventions import CONVENTIONS, not_llm_calls
from tests.collector.running import rotel_binary, start_collector, wait_for

RESOURCE = {"service.name": "forwarded", "deployment.environment.name": "prod"}
_COMPARED = (
    "Timestamp",
    "TraceId",
    "SpanId",
    "ParentSpanId",
    "TraceState",
    "SpanName",
    "SpanKind",
    "ServiceName",
    "ScopeName",
    "ScopeVersion",
    "Duration",
    "StatusCode",
    "StatusMessage",
    "Events.Timestamp",
    "Events.Name",
    "Links.TraceId",
    "Links.SpanId",
)


def _emit(endpoint: str) -> list:
    provider = TracerProvider(resource=Resource.create(RESOURCE))
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    provider.add_span_processor(SimpleSpanProcessor(HttpExporter(endpoint=endpoint)))
    for build in CONVENTIONS.values():
        build(provider)
    not_llm_calls(provider)
    tracer = provider.get_tracer("app", "1.0")
    with tracer.start_as_current_span("linked", kind=SpanKind.PRODUCER) as first:
        first.add_event("queued", {"depth": 3, "queue": "jobs"})
        first.set_status(Status(StatusCode.ERROR, "full"))
    with tracer.start_as_current_span("consumer", kind=SpanKind.CONSUMER, links=[Link(first.get_span_context())]):
        pass
    provider.shutdown()
    return list(memory.get_finished_spans())


def _raw_rows(client, database: str, span_ids: list[str]) -> dict[str, dict]:
    result = client.query(
        f"SELECT * FROM {database}.otel_traces WHERE SpanId IN {{ids:Array(String)}}", {"ids": span_ids}
    )
    return {row["SpanId"]: row for row in result.named_results()}


def _wait_port(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port}")


@pytest.fixture
def rotel(clickhouse):
    binary = rotel_binary()
    if binary is None:
        pytest.skip("rotel is not installed (pip install rotel)")
    database = f"rotel_{int(time.time() * 1000) % 10**8}"
    migrations.apply(clickhouse.client, database, raw_spans=True)
    grpc_port, http_port = free_port(), free_port()
    process = subprocess.Popen(
        [
            str(binary),
            "start",
            "--otlp-grpc-endpoint",
            f"127.0.0.1:{grpc_port}",
            "--otlp-http-endpoint",
            f"127.0.0.1:{http_port}",
            "--exporter",
            "clickhouse",
            "--clickhouse-exporter-endpoint",
            clickhouse.url,
            "--clickhouse-exporter-database",
            database,
            "--clickhouse-exporter-async-insert",
            "false",
            "--batch-timeout",
            "200ms",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_port(grpc_port)
        yield f"grpc://127.0.0.1:{grpc_port}", database
    finally:
        process.terminate()
        process.wait(timeout=10)
        clickhouse.client.command(f"DROP DATABASE IF EXISTS {database} SYNC")


def test_every_span_reaches_rotel_over_grpc_unchanged_and_our_raw_rows_equal_its_rows(clickhouse, database, rotel):
    forward_url, rotel_database = rotel
    collector = start_collector(
        [*("--clickhouse-url", clickhouse.url, "--database", database, "--store-raw-spans"), "--forward", forward_url]
    )
    try:
        spans = _emit(collector.http_url)
        span_ids = [f"{span.context.span_id:016x}" for span in spans]
        client = clickhouse.client
        assert wait_for(lambda: len(_raw_rows(client, rotel_database, span_ids)), len(spans)) == len(spans)
        assert wait_for(lambda: len(_raw_rows(client, database, span_ids)), len(spans)) == len(spans)
    finally:
        assert collector.stop() == 0, collector.text
    theirs = _raw_rows(client, rotel_database, span_ids)
    ours = _raw_rows(client, database, span_ids)
    for span in spans:
        span_id = f"{span.context.span_id:016x}"
        assert theirs[span_id]["TraceId"] == f"{span.context.trace_id:032x}"
        compared = _COMPARED
        if span.kind is SpanKind.CONSUMER:  # rotel 0.0.1-alpha10 writes 'client' for consumer spans
            assert ours[span_id]["SpanKind"] == "Consumer"
            compared = tuple(column for column in _COMPARED if column != "SpanKind")
        assert {c: ours[span_id][c] for c in compared} == {c: theirs[span_id][c] for c in compared}, span.name
        assert ours[span_id]["ResourceAttributes"] == theirs[span_id]["ResourceAttributes"]
        assert ours[span_id]["Events.Attributes"] == theirs[span_id]["Events.Attributes"]
        # rotel spells arrays as protobuf JSON and whole doubles as `3.0`; we follow the upstream exporter (pdata).
        plain = {key for key, value in span.attributes.items() if isinstance(value, (str, int, bool))}
        assert ours[span_id]["SpanAttributes"].keys() == theirs[span_id]["SpanAttributes"].keys()
        assert {k: ours[span_id]["SpanAttributes"][k] for k in plain} == {
            k: theirs[span_id]["SpanAttributes"][k] for k in plain
        }


def test_every_span_reaches_a_second_collector_over_http_with_the_same_ids_and_costs(clickhouse, database):
    second_database = f"{database}_second"
    migrations.apply(clickhouse.client, second_database, raw_spans=True)
    second = start_collector(["--clickhouse-url", clickhouse.url, "--database", second_database, "--store-raw-spans"])
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
        spans = _emit(first.http_url)
        span_ids = [f"{span.context.span_id:016x}" for span in spans]
        client = clickhouse.client
        assert wait_for(lambda: len(_raw_rows(client, second_database, span_ids)), len(spans)) == len(spans)
        query = (
            "SELECT SpanId, TraceId, TotalCost, InputTokens FROM {db}.llm_calls FINAL"
            " WHERE SpanId IN {{ids:Array(String)}} ORDER BY SpanId"
        )
        wait_for(lambda: len(client.query(query.format(db=database), {"ids": span_ids}).result_rows), len(CONVENTIONS))
        mine = client.query(query.format(db=database), {"ids": span_ids}).result_rows
        forwarded = client.query(query.format(db=second_database), {"ids": span_ids}).result_rows
        assert len(mine) == len(CONVENTIONS)
        assert forwarded == mine
    finally:
        assert first.stop() == 0, first.text
        assert second.stop() == 0, second.text
        clickhouse.client.command(f"DROP DATABASE IF EXISTS {second_database} SYNC")


class _Flaky(BaseHTTPRequestHandler):
    failures = 2
    bodies: ClassVar[list[bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if _Flaky.failures:
            _Flaky.failures -= 1
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        _Flaky.bodies.append(body)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def _forward_queue(path) -> DiskQueue:
    return DiskQueue(path / "queue", (FORWARD,))


def test_retries_with_backoff_deliver_the_exact_bytes_after_503s(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    queue = _forward_queue(tmp_path)
    forwarder = Forwarder(f"http://127.0.0.1:{server.server_address[1]}", initial_backoff=0.05).start(queue)
    try:
        queue.append(forward_record(b"\x0a\x00original-bytes"))
        assert wait_for(lambda: list(_Flaky.bodies), [b"\x0a\x00original-bytes"], timeout=10)
        assert (forwarder.stats.sent, forwarder.stats.retries, forwarder.stats.failed) == (1, 2, 0)
    finally:
        forwarder.stop()
        queue.close()
        server.shutdown()
        server.server_close()


def test_what_a_dead_target_did_not_get_is_sent_after_a_restart(tmp_path):
    dead = Forwarder(f"http://127.0.0.1:{free_port()}", initial_backoff=0.05).start(_forward_queue(tmp_path))
    assert dead.queue is not None
    dead.queue.append(forward_record(b"first"), forward_record(b"second"))
    assert wait_for(lambda: dead.stats.retries > 0, True, timeout=10)
    dead.stop(drain_timeout=0.1)
    dead.queue.close()
    _Flaky.failures, _Flaky.bodies = 0, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    queue = _forward_queue(tmp_path)
    alive = Forwarder(f"http://127.0.0.1:{server.server_address[1]}").start(queue)
    try:
        assert wait_for(lambda: list(_Flaky.bodies), [b"firstsecond"], timeout=10)  # queued together: joined
        alive.stop()
        assert queue.lag(FORWARD) == 0  # committed: a third start sends nothing again
    finally:
        queue.close()
        server.shutdown()
        server.server_close()


class _Gated(BaseHTTPRequestHandler):
    """Answers a request only once `gate` (a barrier) has as many requests waiting; refuses `refused` for good
    with 503s; keeps what it accepted."""

    gate: ClassVar[threading.Barrier | None] = None
    refused: ClassVar[bytes | None] = None
    bodies: ClassVar[list[bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        status = 503 if body == _Gated.refused else 200
        if _Gated.gate is not None:
            try:
                _Gated.gate.wait()
            except threading.BrokenBarrierError:
                status = 500
        if status == 200:
            _Gated.bodies.append(body)
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def _serve(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_several_requests_are_in_flight_at_once(tmp_path):
    """One request a round trip would cap forwarding at a slow receiver's pace: four are sent together here, and
    the receiver answers none of them until all four have arrived (one at a time, the first would wait in vain)."""
    _Gated.gate, _Gated.refused, _Gated.bodies = threading.Barrier(4, timeout=10), None, []
    server = _serve(_Gated)
    queue = _forward_queue(tmp_path)
    # one request a send (requests queued together are otherwise joined: see test_merged_requests.py)
    forwarder = Forwarder(f"http://127.0.0.1:{server.server_address[1]}", in_flight=4, merge_bytes=0).start(queue)
    try:
        queue.append(*(forward_record(f"request {index}".encode()) for index in range(4)))
        assert wait_for(lambda: sorted(_Gated.bodies), [f"request {index}".encode() for index in range(4)])
        assert (forwarder.stats.sent, forwarder.stats.retries) == (4, 0)
        forwarder.stop()
        assert queue.lag(FORWARD) == 0
    finally:
        queue.close()
        server.shutdown()
        server.server_close()


def test_a_stop_never_commits_past_a_request_still_being_retried(tmp_path):
    """Requests after it were delivered, but the cursor stays before it: the next start sends it (and, at least
    once, those after it) again."""
    _Gated.gate, _Gated.refused, _Gated.bodies = None, b"first", []
    server = _serve(_Gated)
    queue = _forward_queue(tmp_path)
    target = f"http://127.0.0.1:{server.server_address[1]}"
    forwarder = Forwarder(target, initial_backoff=0.05, merge_bytes=0).start(queue)  # one request a send
    try:
        queue.append(forward_record(b"first"), forward_record(b"second"), forward_record(b"third"))
        assert wait_for(lambda: sorted(_Gated.bodies), [b"second", b"third"], timeout=10)
        assert wait_for(lambda: forwarder.stats.retries > 0, True, timeout=10)
        forwarder.stop(drain_timeout=0.2)
        assert forwarder.stats.sent == 2
        _Gated.refused, _Gated.bodies = None, []
        again = Forwarder(target, merge_bytes=0).start(queue)
        assert wait_for(lambda: sorted(_Gated.bodies), [b"first", b"second", b"third"], timeout=10)
        again.stop()
        assert queue.lag(FORWARD) == 0
    finally:
        queue.close()
        server.shutdown()
        server.server_close()
