# SPDX-License-Identifier: Apache-2.0
"""The pipeline on a real ClickHouse: batches by size and time, stores a re-sent span once, flushes on stop,
pushes back when ClickHouse cannot keep up, and never lets forwarding hold storage up."""

from __future__ import annotations

import time

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmledger.collector.clickhouse.client import connect
from llmledger.collector.clickhouse.embedded import free_port
from llmledger.collector.forward import Forwarder
from llmledger.collector.pipeline import Backpressure, Pipeline
from llmledger.collector.store import ClickHouseStore
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


def test_a_full_batch_is_written_without_waiting_for_the_interval(client):
    pipeline = Pipeline(ClickHouseStore(client), batch_size=3, flush_interval=60).start()
    request = _request(7)
    pipeline.accept(request, request.SerializeToString())
    # a full batch is written long before the 60 s interval, in inserts of at most batch_size rows
    assert wait_for(lambda: pipeline.stats.calls_written >= 6, True)
    pipeline.stop()
    assert pipeline.stats.calls_written == 7
    assert (pipeline.stats.spans, pipeline.stats.calls) == (8, 7)
    assert _count(client, request) == 7


def test_a_resent_request_is_stored_once(client):
    pipeline = Pipeline(ClickHouseStore(client), flush_interval=0.1).start()
    request = _request(4)
    body = request.SerializeToString()
    pipeline.accept(request, body)
    pipeline.accept(request, body)
    pipeline.stop()
    assert (pipeline.stats.calls, pipeline.stats.duplicates) == (4, 4)
    assert _count(client, request) == 4


def test_raw_spans_are_kept_for_every_span(client):
    pipeline = Pipeline(ClickHouseStore(client), flush_interval=0.1, store_raw_spans=True).start()
    request = _request(2)
    pipeline.accept(request)
    pipeline.stop()
    ids = [span.span_id.hex() for span in request.resource_spans[0].scope_spans[0].spans]
    query = "SELECT count() FROM otel_traces WHERE SpanId IN {ids:Array(String)}"
    assert client.query(query, {"ids": ids}).result_rows[0][0] == 3


def test_an_unreachable_clickhouse_fills_the_bound_and_then_pushes_back(clickhouse):
    dead = connect(clickhouse.url, connect_timeout=1)
    dead.url = f"http://127.0.0.1:{free_port()}"  # the server went away after the collector connected
    pipeline = Pipeline(ClickHouseStore(dead), flush_interval=0.05, max_pending_rows=5, retry_delay=0.05).start()
    try:
        pipeline.accept(_request(5))
        with pytest.raises(Backpressure, match="retry after"):
            pipeline.accept(_request(1))
    finally:
        pipeline.stop(timeout=5)


def test_a_dead_forwarding_target_does_not_delay_storage(client):
    forwarder = Forwarder(f"grpc://127.0.0.1:{free_port()}", initial_backoff=5).start()
    pipeline = Pipeline(ClickHouseStore(client), flush_interval=0.1, forwarder=forwarder).start()
    request = _request(3)
    started = time.monotonic()
    pipeline.accept(request, request.SerializeToString())
    assert wait_for(lambda: _count(client, request), 3, timeout=10) == 3
    assert time.monotonic() - started < 5
    pipeline.stop()
    forwarder.stop(drain_timeout=0.1)
