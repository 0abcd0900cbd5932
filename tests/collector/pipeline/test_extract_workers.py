# SPDX-License-Identifier: Apache-2.0
"""Extraction in worker processes: the same rows as extraction in the collector, re-sends still filtered, a worker
killed mid-run costs no request (it is extracted in the collector and the pool is replaced), and workers do not
outlive a collector killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading

from llmledger.collector.exporters.clickhouse.writer import ClickHouseStore
from llmledger.collector.extract import Extractor
from llmledger.collector.extract.attributes import AttributeSelection
from llmledger.collector.llm_calls import storable
from llmledger.collector.pipeline.extract_workers import Extracted, ExtractionPool
from llmledger.collector.pipeline.pipeline import Pipeline
from llmledger.collector.pipeline.queue import DiskQueue
from llmledger.collector.pipeline.records import rows
from tests.collector.pipeline.test_pipeline import _count, _request
from tests.collector.running import wait_for


def _body(count: int, **custom: str) -> bytes:
    request = _request(count)
    for span in request.resource_spans[0].scope_spans[0].spans:
        for key, value in custom.items():
            span.attributes.add(key=key).value.string_value = value
    return request.SerializeToString()


def test_a_worker_extracts_the_same_calls_prices_and_attributes_as_the_collector_process():
    selection = AttributeSelection.of(["team"])
    body = _body(5, team="search", **{"llmledger.custom.plan": "pro"})
    pool = ExtractionPool(1, selection, min_bytes=0)
    try:
        extracted = pool.extract(body)
    finally:
        pool.close()
    assert extracted is not None
    inline = Extractor(selection).calls(body)
    columns, _ = storable(inline.calls)
    found = rows(extracted.record)
    assert found is not None
    assert (extracted.spans, extracted.rejected, extracted.keys) == (6, 0, list(columns.keys()))
    assert (found.calls, found.prices) == (columns, inline.prices)
    assert found.calls.field("attributes")[0] == {"team": "search", "plan": "pro"}
    assert set(extracted.prices) == set(inline.prices) != set()


def test_small_requests_and_requests_after_closing_stay_in_the_collector_process():
    pool = ExtractionPool(1)
    try:
        assert pool.extract(_body(1)) is None  # below min_bytes: the round trip would cost more than extracting
    finally:
        pool.close()
    pool.min_bytes = 0
    assert pool.extract(_body(1)) is None  # closed: the caller extracts, and the queue decides what to answer


def test_threads_outnumbering_the_workers_wait_their_turn_and_each_gets_its_own_request_s_calls():
    bodies = [_body(count) for count in range(1, 13)]
    pool = ExtractionPool(2, min_bytes=0)
    results: dict[int, object] = {}

    def extract(index: int) -> None:
        results[index] = pool.extract(bodies[index])

    try:
        threads = [threading.Thread(target=extract, args=(index,)) for index in range(len(bodies))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        pool.close()
    assert sorted(results) == list(range(len(bodies)))
    for index, extracted in results.items():
        assert isinstance(extracted, Extracted)
        assert extracted.keys == list(storable(Extractor().calls(bodies[index]).calls)[0].keys())


def test_a_request_a_worker_cannot_extract_is_left_to_the_caller_and_the_worker_serves_on():
    pool = ExtractionPool(1, min_bytes=0)
    try:
        (worker,) = pool.pids()
        assert pool.extract(b"\x0a\xff\xff\xff\x7f" + b"x" * 64) is None  # truncated: the caller raises the error
        assert pool.pids() == [worker]
        assert pool.extract(_body(2)) is not None
    finally:
        pool.close()


def test_closing_the_pool_ends_its_workers():
    pool = ExtractionPool(2)
    workers = pool.pids()
    pool.close()
    assert pool.pids() == []
    assert wait_for(lambda: [pid for pid in workers if _alive(pid)], [], timeout=10) == []


def test_a_killed_worker_loses_no_request_and_re_sends_are_still_filtered(client, tmp_path):
    queue = DiskQueue(tmp_path / "queue", ("store",), max_bytes=1 << 24)
    pipeline = Pipeline(ClickHouseStore(client), queue, flush_interval=0.05, extract_workers=1).start()
    pipeline._pool.min_bytes = 0  # type: ignore[union-attr]  # every request to the worker
    try:
        first = _request(3)
        pipeline.accept(first, first.SerializeToString())
        (worker,) = pipeline._pool.pids()  # type: ignore[union-attr]
        os.kill(worker, signal.SIGKILL)
        second = _request(4)
        assert pipeline.accept(second, second.SerializeToString()).rejected_spans == 0  # extracted here instead
        assert wait_for(lambda: len(pipeline._pool.pids()), 1) == 1  # type: ignore[union-attr]  # a new worker
        assert pipeline._pool.pids() != [worker]  # type: ignore[union-attr]
        pipeline.accept(first, first.SerializeToString())  # a re-send, through the new worker
        assert wait_for(lambda: pipeline.stats.calls_written, 7) == 7
    finally:
        pipeline.stop()
    assert (_count(client, first), _count(client, second)) == (3, 4)
    assert (pipeline.stats.calls, pipeline.stats.duplicates) == (7, 3)


def test_workers_exit_when_their_collector_is_killed(tmp_path):
    script = textwrap.dedent(
        """
        import sys, time
        from llmledger.collector.pipeline.extract_workers import Extracted, ExtractionPool
        if __name__ == "__main__":
            pool = ExtractionPool(2)
            print(" ".join(map(str, pool.pids())), flush=True)
            time.sleep(600)
        """
    )
    path = tmp_path / "owner.py"
    path.write_text(script)
    owner = subprocess.Popen([sys.executable, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        workers = [int(pid) for pid in owner.stdout.readline().split()]  # type: ignore[union-attr]
        assert len(workers) == 2
    finally:
        owner.kill()
        owner.wait(10)
    assert wait_for(lambda: [pid for pid in workers if _alive(pid)], [], timeout=10) == []


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False
