# SPDX-License-Identifier: Apache-2.0
"""`/healthz`, `/readyz` and `/metrics` on the HTTP receiver, and its GET route registry: liveness always,
readiness only with ClickHouse reachable and room in the pipeline, and the collector's own counters in
Prometheus text format (parsed by the reference parser) moving as requests arrive and are refused."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from llmledger.collector.exporters.clickhouse.client import connect
from llmledger.collector.exporters.clickhouse.embedded import free_port
from llmledger.collector.exporters.clickhouse.writer import ClickHouseStore
from llmledger.collector.exposition import render
from llmledger.collector.health import health_routes
from llmledger.collector.pipeline.pipeline import Pipeline
from llmledger.collector.pipeline.queue import DiskQueue
from llmledger.collector.receivers._rejections import Rejections
from llmledger.collector.receivers.otlp_http import HttpReceiver
from tests.collector.receivers.conftest import PROTOBUF, otlp_body, post
from tests.collector.running import wait_for


def _serve(pipeline, reachable, routes=None):
    rejections = Rejections()
    all_routes = {**health_routes(pipeline, reachable, rejections), **(routes or {})}
    return HttpReceiver(pipeline, port=0, rejections=rejections, routes=all_routes).start()


@pytest.fixture(scope="module")
def live(client, tmp_path_factory):
    queue = DiskQueue(tmp_path_factory.mktemp("queue"))
    pipeline = Pipeline(ClickHouseStore(client), queue, flush_interval=0.1).start()
    receiver = _serve(pipeline, client.ping)
    yield receiver, pipeline
    receiver.stop()
    pipeline.stop(timeout=10)


@pytest.fixture
def unreachable(clickhouse, tmp_path):
    """A pipeline whose ClickHouse went away after connecting, with a queue of the smallest size allowed."""
    dead = connect(clickhouse.url, connect_timeout=1)
    dead.url = f"http://127.0.0.1:{free_port()}"
    dead._backend.url = dead.url  # where the driver's ping goes
    queue = DiskQueue(tmp_path / "queue", max_bytes=1 << 16)
    pipeline = Pipeline(ClickHouseStore(dead), queue, flush_interval=60, retry_delay=0.05).start()
    yield pipeline, dead
    pipeline.stop(timeout=5)


def metrics(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    status, headers, body = post(port, path="/metrics", method="GET")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


def test_healthz_and_readyz_answer_200_when_all_is_well(live):
    receiver, _ = live

    assert post(receiver.port, path="/healthz", method="GET")[::2] == (200, b"ok\n")
    assert post(receiver.port, path="/readyz?verbose", method="GET")[::2] == (200, b"ready\n")


def test_readyz_is_503_with_the_reason_when_clickhouse_is_unreachable(unreachable):
    pipeline, dead = unreachable
    receiver = _serve(pipeline, dead.ping)
    try:
        status, _, body = post(receiver.port, path="/readyz", method="GET")
        assert (status, body) == (503, b"not ready: ClickHouse is not reachable\n")
        assert post(receiver.port, path="/healthz", method="GET")[0] == 200  # alive all the same
    finally:
        receiver.stop()


def test_readyz_is_503_with_the_reason_when_the_pipeline_is_full(unreachable, client):
    pipeline, _ = unreachable
    receiver = _serve(pipeline, client.ping)  # ClickHouse answers pings; the writer's does not
    try:
        assert post(receiver.port, path="/readyz", method="GET")[0] == 200
        for _ in range(2000):  # the queue holds 64 KiB: it fills long before this
            if post(receiver.port, otlp_body(), PROTOBUF)[0] == 429:
                break

        status, _, body = post(receiver.port, path="/readyz", method="GET")

        assert status == 503
        assert b"queue is" in body and b"full" in body
    finally:
        receiver.stop()


def test_readyz_answers_503_when_the_probe_itself_raises(live):
    _, pipeline = live

    def broken() -> bool:
        raise RuntimeError("driver exploded")

    receiver = _serve(pipeline, broken)
    try:
        assert post(receiver.port, path="/readyz", method="GET")[::2] == (
            503,
            b"not ready: ClickHouse is not reachable: driver exploded\n",
        )
    finally:
        receiver.stop()


def test_metrics_parse_as_prometheus_text_and_counters_move(live):
    receiver, pipeline = live
    before = metrics(receiver.port)

    assert post(receiver.port, otlp_body(), PROTOBUF)[0] == 200
    assert post(receiver.port, b"\xff not protobuf", PROTOBUF)[0] == 400
    wait_for(lambda: pipeline.stats.calls_written >= 1, True)

    after = metrics(receiver.port)
    malformed = ("llmledger_collector_rejected_requests_total", (("protocol", "http"), ("reason", "malformed")))
    assert (
        after[("llmledger_collector_received_spans_total", ())]
        == before[("llmledger_collector_received_spans_total", ())] + 1
    )
    assert (
        after[("llmledger_collector_received_requests_total", ())]
        > before[("llmledger_collector_received_requests_total", ())]
    )
    assert after[("llmledger_collector_stored_calls_total", ())] >= 1
    assert after[malformed] == before.get(malformed, 0) + 1
    assert ("llmledger_collector_queue_bytes", ()) in after
    assert ("llmledger_collector_consumer_lag_bytes", (("consumer", "store"),)) in after
    assert ("llmledger_collector_dropped_total", (("reason", "cost_too_large"),)) in after


def test_exposition_types_escapes_and_labels_whatever_the_pipeline_counts():
    text = render(
        {"received_spans": 3, "queue_bytes": 1.5, "dropped_disk full": 2, "consumer_lag_bytes_store": float("nan")},
        {("http", 'we"ird\\reason\n'): 1},
    )

    families = {family.name: family for family in text_string_to_metric_families(text)}
    assert families["llmledger_collector_received_spans"].type == "counter"
    assert families["llmledger_collector_queue_bytes"].type == "gauge"
    assert families["llmledger_collector_dropped"].samples[0].labels == {"reason": "disk_full"}
    (rejected,) = families["llmledger_collector_rejected_requests"].samples
    assert rejected.labels == {"protocol": "http", "reason": 'we"ird\\reason\n'}


def test_registered_routes_are_served_and_a_failing_one_answers_500(live):
    _, pipeline = live

    def budgets() -> tuple[int, str, bytes]:
        return 200, "application/json", b'{"budgets": []}'

    def broken() -> tuple[int, str, bytes]:
        raise RuntimeError("bug")

    receiver = _serve(pipeline, lambda: True, {"/v1/budgets/status": budgets, "/broken": broken})
    try:
        status, headers, body = post(receiver.port, path="/v1/budgets/status", method="GET")
        assert (status, headers["Content-Type"], body) == (200, "application/json", b'{"budgets": []}')
        assert post(receiver.port, path="/broken", method="GET")[0] == 500
        assert post(receiver.port, path="/nowhere", method="GET")[0] == 404
        assert post(receiver.port, path="/v1/traces", method="GET")[0] == 405
    finally:
        receiver.stop()
