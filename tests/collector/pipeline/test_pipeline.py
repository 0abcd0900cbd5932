# SPDX-License-Identifier: Apache-2.0
"""The pipeline on a real ClickHouse and a real disk queue: batches by size and time, stores a re-sent span once,
flushes on stop, keeps what ClickHouse could not take for the next start, re-inserts an interrupted batch under
the same token (so nothing is counted twice, rollups included), pushes back when the queue is full, and never
lets forwarding hold storage up."""

from __future__ import annotations

import shutil
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmledger.collector.exporters.clickhouse.client import connect
from llmledger.collector.exporters.clickhouse.embedded import free_port
from llmledger.collector.exporters.clickhouse.writer import ClickHouseStore
from llmledger.collector.exporters.forward import Forwarder
from llmledger.collector.pipeline.pipeline import Backpressure, Pipeline
from llmledger.collector.pipeline.queue import DiskQueue
from tests.collector.running import wait_for


def _request(count: int, model: str = "gpt-4o-mini"):
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "pipe"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("t")
    for index in range(count):
        attributes = {
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": model,
            "gen_ai.usage.input_tokens": 100 + index,
            "gen_ai.usage.output_tokens": 10,
        }
        with tracer.start_as_current_span(f"call {index}", attributes=attributes):
            pass
    with tracer.start_as_current_span("not a call"):
        pass
    return encode_spans(exporter.get_finished_spans())


def _count(client, request) -> int:
    ids = [span.span_id.hex() for rs in request.resource_spans for ss in rs.scope_spans for span in ss.spans]
    query = "SELECT count() FROM llm_calls WHERE SpanId IN {ids:Array(String)}"
    return client.query(query, {"ids": ids}).result_rows[0][0]


def _queue(path, *consumers: str, max_bytes: int = 1 << 24) -> DiskQueue:
    return DiskQueue(path / "queue", consumers or ("store",), max_bytes=max_bytes, sheddable=("forward",))


def _dead(clickhouse):
    """A client of a ClickHouse that went away after the collector connected."""
    dead = connect(clickhouse.url, connect_timeout=1)
    dead.url = dead._backend.url = f"http://127.0.0.1:{free_port()}"  # the driver's transport keeps its own copy
    return dead


def test_a_full_batch_is_written_without_waiting_for_the_interval(client, tmp_path):
    pipeline = Pipeline(ClickHouseStore(client), _queue(tmp_path), batch_size=3, flush_interval=60).start()
    request = _request(7)
    pipeline.accept(request, request.SerializeToString())
    # a full batch is written long before the 60 s interval, in inserts of at most batch_size rows
    assert wait_for(lambda: pipeline.stats.calls_written >= 6, True)
    pipeline.stop()
    assert pipeline.stats.calls_written == 7
    assert (pipeline.stats.spans, pipeline.stats.calls) == (8, 7)
    assert _count(client, request) == 7


def test_a_resent_request_is_stored_once(client, tmp_path):
    pipeline = Pipeline(ClickHouseStore(client), _queue(tmp_path), flush_interval=0.1).start()
    request = _request(4)
    body = request.SerializeToString()
    pipeline.accept(request, body)
    pipeline.accept(request, body)
    pipeline.stop()
    assert (pipeline.stats.calls, pipeline.stats.duplicates) == (4, 4)
    assert _count(client, request) == 4


def test_raw_spans_are_kept_for_every_span(client, tmp_path):
    pipeline = Pipeline(ClickHouseStore(client), _queue(tmp_path), flush_interval=0.1, store_raw_spans=True).start()
    request = _request(2)
    pipeline.accept(request)
    pipeline.stop()
    ids = [span.span_id.hex() for span in request.resource_spans[0].scope_spans[0].spans]
    query = "SELECT count() FROM otel_traces WHERE SpanId IN {ids:Array(String)}"
    assert client.query(query, {"ids": ids}).result_rows[0][0] == 3


def test_an_unreachable_clickhouse_fills_the_queue_and_then_pushes_back_without_losing_the_refused(
    clickhouse, tmp_path
):
    queue = _queue(tmp_path, max_bytes=1 << 16)
    pipeline = Pipeline(ClickHouseStore(_dead(clickhouse)), queue, flush_interval=0.05, retry_delay=0.05).start()
    try:
        request = _request(5)
        with pytest.raises(Backpressure, match="retry after 1 s"):
            for _ in range(1000):
                pipeline.accept(request)
                request = _request(5)
        assert pipeline.counters()["rejected_requests_queue_full"] == 1
        assert pipeline.ready() == (False, pipeline.ready()[1]) and "full" in pipeline.ready()[1]
        # the refused request's spans are not remembered as seen: its retry is not taken for a duplicate
        pipeline.queue.max_bytes *= 2
        pipeline.accept(request)
        assert pipeline.stats.duplicates == 0
    finally:
        pipeline.stop(timeout=1)


def test_what_clickhouse_could_not_take_is_stored_by_the_next_start(clickhouse, client, tmp_path):
    down = Pipeline(ClickHouseStore(_dead(clickhouse)), _queue(tmp_path), flush_interval=0.05, retry_delay=0.05)
    down.start()
    request = _request(6)
    down.accept(request)  # acknowledged: on disk
    assert wait_for(lambda: down.ready()[0], False, timeout=10) is False  # the writes keep failing
    assert "failed" in down.ready()[1]
    down.stop(timeout=0.5)  # gives up on ClickHouse; the batch stays queued
    assert _count(client, request) == 0
    up = Pipeline(ClickHouseStore(client), _queue(tmp_path), flush_interval=0.05).start()
    assert wait_for(lambda: _count(client, request), 6, timeout=20) == 6
    up.stop()
    assert up.counters()["queue_bytes"] == 0


def test_a_span_re_sent_after_a_restart_is_recognised_whether_it_was_still_queued_or_already_stored(
    clickhouse, client, tmp_path
):
    queued, stored = _request(3), _request(4)
    first = Pipeline(ClickHouseStore(client), _queue(tmp_path), flush_interval=0.05).start()
    first.accept(stored)
    assert wait_for(lambda: first.counters()["consumer_lag_bytes_store"], 0) == 0
    first.stop()
    down = Pipeline(ClickHouseStore(_dead(clickhouse)), _queue(tmp_path), flush_interval=0.05, retry_delay=0.05)
    down.start()
    down.accept(queued)  # acknowledged, never stored: ClickHouse is away
    down.stop(timeout=0.2)
    store = ClickHouseStore(client)
    restarted = Pipeline(store, _queue(tmp_path), flush_interval=0.05)  # seeds its filter from the queue…
    restarted.remember_stored(store.recent_call_keys(1000))  # …and from ClickHouse, as the service does
    restarted.start()
    restarted.accept(queued)  # the exporters' retries
    restarted.accept(stored)
    assert restarted.stats.duplicates == 7
    assert wait_for(lambda: (_count(client, queued), _count(client, stored)), (3, 4)) == (3, 4)
    restarted.stop()
    assert (
        client.query("SELECT count() FROM llm_calls").result_rows[0][0]
        == client.query("SELECT count() FROM llm_calls FINAL").result_rows[0][0]
    )  # no row was inserted twice


class _CrashAfterInsert:
    """The real store, and a copy of the queue directory taken right after the first insert of calls: the files
    a kill -9 between the insert and the cursor commit would leave behind."""

    def __init__(self, store: ClickHouseStore, queue_dir, snapshot) -> None:
        self.store, self.queue_dir, self.snapshot = store, queue_dir, snapshot

    def write_calls(self, calls, prices, token) -> None:
        self.store.write_calls(calls, prices, token)
        if not self.snapshot.exists():
            shutil.copytree(self.queue_dir, self.snapshot, ignore=shutil.ignore_patterns("queue.lock"))

    def write_raw_spans(self, rows, token) -> None:
        self.store.write_raw_spans(rows, token)


def _costs(client, request) -> tuple:
    """Calls and USD of `request`'s traces in `llm_calls FINAL` and in the per-trace rollup, and the hourly rollup
    of its service and model."""
    spans = [span for rs in request.resource_spans for ss in rs.scope_spans for span in ss.spans]
    traces = {"traces": sorted({span.trace_id.hex() for span in spans})}
    by_trace = "WHERE TraceId IN {traces:Array(String)}"
    queries = (
        f"SELECT count(), sum(TotalCost) FROM llm_calls FINAL {by_trace}",
        f"SELECT sum(Calls), sum(TotalCost) FROM llm_trace_costs {by_trace}",
        "SELECT sum(Calls), sum(TotalCost) FROM llm_usage_hourly WHERE ServiceName = 'pipe'",
    )
    return tuple(tuple(client.query(query, traces).result_rows[0]) for query in queries)


def test_a_batch_interrupted_after_its_insert_is_replayed_under_the_same_token_and_counted_once(
    clickhouse, database, tmp_path
):
    client = clickhouse.connect(database)
    before = _costs(client, _request(0))
    snapshot = tmp_path / "after-kill"
    queue = _queue(tmp_path)
    store = _CrashAfterInsert(ClickHouseStore(client), queue.directory, snapshot)
    pipeline = Pipeline(store, queue, flush_interval=0.05).start()
    request = _request(4, model="gpt-4o-mini")
    pipeline.accept(request)
    pipeline.stop()
    once = _costs(client, request)
    assert (once[0][0], once[1][0]) == (4, 4)
    # restart on the files as the crash left them: the batch in flight is inserted again, under the same token
    replay = Pipeline(ClickHouseStore(client), DiskQueue(snapshot), flush_interval=0.05).start()
    assert wait_for(lambda: replay.counters()["stored_calls"], 4, timeout=20) == 4
    replay.stop()
    assert _costs(client, request) == once != before


def test_a_dead_forwarding_target_does_not_delay_storage(client, tmp_path):
    forwarder = Forwarder(f"grpc://127.0.0.1:{free_port()}", initial_backoff=5)
    queue = _queue(tmp_path, "store", "forward")
    pipeline = Pipeline(ClickHouseStore(client), queue, flush_interval=0.1, forwarder=forwarder).start()
    request = _request(3)
    started = time.monotonic()
    pipeline.accept(request, request.SerializeToString())
    assert wait_for(lambda: _count(client, request), 3, timeout=10) == 3
    assert time.monotonic() - started < 5
    assert wait_for(lambda: pipeline.counters()["consumer_lag_bytes_store"], 0) == 0  # committed after the insert
    assert pipeline.counters()["consumer_lag_bytes_forward"] > 0
    pipeline.stop(forward_timeout=0.1)


def test_a_full_queue_held_only_by_a_dead_forwarding_target_skips_its_backlog_and_keeps_storing(client, tmp_path):
    forwarder = Forwarder(f"grpc://127.0.0.1:{free_port()}", initial_backoff=5)
    queue = DiskQueue(tmp_path / "queue", ("store", "forward"), max_bytes=1 << 16, sheddable=("forward",))
    pipeline = Pipeline(ClickHouseStore(client), queue, flush_interval=0.05, forwarder=forwarder).start()
    try:
        requests = [_request(5) for _ in range(40)]  # several times what the queue holds
        for request in requests:
            assert wait_for(lambda: pipeline.ready()[0], True, timeout=10)  # storage keeps up, forwarding never does
            pipeline.accept(request, request.SerializeToString())
        assert wait_for(lambda: sum(_count(client, request) for request in requests), 200, timeout=20) == 200
        assert pipeline.counters()["dropped_forward_queue_full_bytes"] > 0
    finally:
        pipeline.stop(forward_timeout=0.1)


def test_accept_refuses_with_a_retry_delay_once_the_pipeline_is_stopping(client, tmp_path):
    pipeline = Pipeline(ClickHouseStore(client), _queue(tmp_path), flush_interval=0.05).start()
    pipeline.stop()
    with pytest.raises(Backpressure, match="shutting down; retry after 1 s"):
        pipeline.accept(_request(1))


def test_a_dead_clickhouse_does_not_delay_forwarding(clickhouse, tmp_path):
    received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _recording(received))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    forwarder = Forwarder(f"http://127.0.0.1:{server.server_address[1]}")
    queue = _queue(tmp_path, "store", "forward")
    pipeline = Pipeline(ClickHouseStore(_dead(clickhouse)), queue, flush_interval=0.05, forwarder=forwarder)
    pipeline.start()
    try:
        request = _request(2)
        pipeline.accept(request, request.SerializeToString())
        assert wait_for(lambda: received, [request.SerializeToString()], timeout=10)
        assert pipeline.counters()["forwarded_requests"] == 1
    finally:
        pipeline.stop(timeout=0.5)
        server.shutdown()
        server.server_close()


def _recording(received: list[bytes]) -> type[BaseHTTPRequestHandler]:
    class Recording(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    return Recording


def test_counters_name_every_figure_of_the_self_telemetry_contract(client, tmp_path):
    pipeline = Pipeline(ClickHouseStore(client), _queue(tmp_path))
    counters = pipeline.counters()
    for name in (
        "received_requests",
        "received_spans",
        "stored_calls",
        "stored_raw_spans",
        "forwarded_requests",
        "duplicate_spans",
        "write_errors",
        "forward_errors",
        "queue_bytes",
        "queue_max_bytes",
        "consumer_lag_bytes_store",
        "consumer_lag_bytes_forward",
    ):
        assert isinstance(counters[name], int | float), name
    assert counters["queue_max_bytes"] == 1 << 24
    assert {name for name in counters if name.startswith("dropped_")} >= {"dropped_cost_too_large"}
    assert pipeline.ready() == (True, "ok")
    pipeline.queue.close()
