# SPDX-License-Identifier: Apache-2.0
"""A call's metrics are recorded in batches, yet every reader sees every call that finished before it collects."""

from __future__ import annotations

import threading
import weakref
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import INVALID_SPAN_CONTEXT

from llmledger._core.usage import Usage
from llmledger.instrumentation._shared.invocation import Invocation, Request, Response
from llmledger.instrumentation._shared.telemetry import PendingRecords, Telemetry

# gpt-4o-mini: $0.15 input and $0.60 output per million tokens.
CALL_COST = (1000 * 0.15 + 200 * 0.6) / 1e6


@pytest.fixture
def reader() -> InMemoryMetricReader:
    return InMemoryMetricReader()


@pytest.fixture
def telemetry(reader: InMemoryMetricReader) -> Telemetry:
    return Telemetry.create("test", TracerProvider(), MeterProvider(metric_readers=[reader]))


def call(telemetry: Telemetry) -> None:
    invocation = Invocation(telemetry, "openai", Request("chat", "gpt-4o-mini"))
    invocation.finish(Response(model="gpt-4o-mini", usage=Usage(input_tokens=1000, output_tokens=200)))


def totals(reader: InMemoryMetricReader) -> dict[str, Any]:
    """What a collection shows: calls timed, tokens by type, dollars."""
    metrics = {
        m.name: m for rm in reader.get_metrics_data().resource_metrics for sm in rm.scope_metrics for m in sm.metrics
    }
    if not metrics:
        return {}
    tokens = {p.attributes["gen_ai.token.type"]: p.sum for p in metrics["gen_ai.client.token.usage"].data.data_points}
    (duration,) = metrics["gen_ai.client.operation.duration"].data.data_points
    (cost,) = metrics["llmledger.client.cost"].data.data_points
    return {"calls": duration.count, "tokens": tokens, "usd": cost.value}


def test_a_collection_sees_every_call_finished_before_it_though_no_batch_was_full(telemetry, reader):
    for _ in range(3):
        call(telemetry)
    seen = totals(reader)
    assert seen["calls"] == 3 and seen["tokens"] == {"input": 3000, "output": 600}
    assert seen["usd"] == pytest.approx(3 * CALL_COST)

    call(telemetry)
    assert totals(reader)["calls"] == 4  # cumulative: nothing counted twice


def test_without_a_collection_a_full_batch_is_recorded_by_the_call_that_fills_it(telemetry):
    for _ in range(2 * PendingRecords.BATCH + 5):
        call(telemetry)
    assert len(telemetry.records._queue) == 5  # memory stays bounded with no reader collecting


def test_a_queued_record_does_not_keep_its_call_span_alive(telemetry):
    # A span held until its batch is recorded would make the garbage collector run several times as often in an
    # app's calls; the record keeps only the span's identity, for exemplars.
    invocation = Invocation(telemetry, "openai", Request("chat", "gpt-4o-mini"))
    invocation.finish(Response(model="gpt-4o-mini", usage=Usage(input_tokens=1000, output_tokens=200)))
    span = weakref.ref(invocation.span)
    del invocation
    assert len(telemetry.records._queue) == 1
    assert span() is None  # freed by its reference count alone, without a collection


def test_threads_finishing_calls_while_readers_collect_lose_and_double_count_nothing(telemetry, reader):
    threads, calls_each = 8, 300
    done = threading.Event()
    start = threading.Barrier(threads + 1)

    def caller() -> None:
        start.wait(timeout=30)
        for _ in range(calls_each):
            call(telemetry)

    def collector() -> None:
        while not done.is_set():
            reader.get_metrics_data()

    workers = [threading.Thread(target=caller) for _ in range(threads)]
    collecting = threading.Thread(target=collector)
    for worker in workers:
        worker.start()
    collecting.start()
    start.wait(timeout=30)
    for worker in workers:
        worker.join(timeout=120)
    done.set()
    collecting.join(timeout=120)

    calls = threads * calls_each
    seen = totals(reader)
    assert seen["calls"] == calls and seen["tokens"] == {"input": 1000 * calls, "output": 200 * calls}
    assert seen["usd"] == pytest.approx(calls * CALL_COST)


def test_a_failing_record_is_logged_and_the_rest_of_the_batch_still_recorded(telemetry, reader, caplog):
    caplog.set_level("DEBUG", "llmledger")
    call(telemetry)
    telemetry.records.add((telemetry, "not a duration", None, 1, 1, None, {}, INVALID_SPAN_CONTEXT))  # type: ignore[arg-type]
    call(telemetry)
    assert totals(reader)["calls"] == 2
    assert any("failed to record a call's metrics" in r.getMessage() for r in caplog.records)
