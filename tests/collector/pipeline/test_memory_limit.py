# SPDX-License-Identifier: Apache-2.0
"""The memory limit (`--memory-limit-mib`) sheds load with backpressure: a request that would take the collector past
its soft limit is refused before it is read, with a retry delay (HTTP 503 + Retry-After, gRPC UNAVAILABLE +
RetryInfo), and admitted once memory is free again. A burst of large requests from many senders against a small
limit is refused in part, the collector's peak resident memory stays under the limit, and every request accepted is
stored: nothing is lost."""

from __future__ import annotations

import http.client
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, Span

from llmledger.collector.exporters.clickhouse.writer import ClickHouseStore
from llmledger.collector.pipeline.memory_limit import (
    EXPANSION,
    MemoryLimit,
    MemoryPressure,
    Processes,
    default_limit_mib,
)
from llmledger.collector.pipeline.pipeline import Pipeline
from llmledger.collector.pipeline.queue import DiskQueue
from llmledger.collector.receivers.otlp_grpc import GrpcReceiver
from llmledger.collector.receivers.otlp_http import HttpReceiver
from tests.collector.running import start_collector, wait_for
from tests.collector.wire_format import varint as _varint

MIB = 1 << 20


class Resident:
    """A resident set the test sets (the real one moves with everything else the test process does)."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __call__(self) -> int:
        return self.value


def _limit(resident: int, limit: int = 100 * MIB) -> MemoryLimit:
    return MemoryLimit(limit, interval=0, resident=Resident(resident))


def test_requests_are_admitted_while_they_fit_under_the_soft_limit_and_refused_past_it():
    limit = _limit(resident=40 * MIB)  # soft limit 80 MiB: 40 MiB of room, 10 MiB per 2.5 MiB request
    with limit.reserve(5 * MIB // 2), limit.reserve(5 * MIB // 2), limit.reserve(5 * MIB // 2):
        assert limit.reserved == 3 * EXPANSION * 5 * MIB // 2
        # the fourth fills it exactly; a fifth, however small, is refused
        with limit.reserve(5 * MIB // 2), pytest.raises(MemoryPressure) as refused, limit.reserve(1):
            pass
    assert refused.value.retry_after == 1 and "memory limit" in str(refused.value)
    assert limit.reserved == 0 and limit.refused == 1
    with limit.reserve(10 * MIB // EXPANSION):  # room again once those are done
        pass


def test_a_request_larger_than_the_room_goes_through_alone_and_none_past_the_soft_limit():
    limit = _limit(resident=70 * MIB)
    # alone, admitted (else it would be refused forever); a second is not
    with limit.reserve(50 * MIB), pytest.raises(MemoryPressure), limit.reserve(1):
        pass
    assert not limit.over()


def test_resting_over_the_soft_limit_requests_pass_one_at_a_time_while_each_fits_under_the_limit():
    """A collector whose resident set stays over its soft limit after a burst (Python keeps freed arenas) still
    ingests, one request at a time, rather than refusing everything until its memory falls."""
    over = _limit(resident=85 * MIB)  # soft limit 80 MiB, limit 100 MiB
    assert over.over()
    with over.reserve(3 * MIB), pytest.raises(MemoryPressure), over.reserve(1):
        pass  # the first, alone, fits under the limit: admitted; a second, beside it, is not
    with pytest.raises(MemoryPressure), over.reserve(4 * MIB):
        pass  # alone but 16 MiB held would pass the limit
    assert over.refused == 2 and over.reserved == 0


def test_over_the_soft_limit_the_queues_latest_records_are_let_go_of_before_memory_is_given_back(tmp_path):
    queue = DiskQueue(tmp_path / "queue")
    queue.append(b"kept in memory as well as on disk")
    [kept] = queue.read(0)
    limit = _limit(resident=80 * MIB)
    limit.release_on_pressure(queue.forget_recent)
    with limit.reserve(1):  # alone, it fits under the limit
        pass
    [read_again] = queue.read(0)
    assert read_again == kept and read_again.payload is not kept.payload  # from the file now
    queue.close()


def test_a_body_found_larger_than_announced_grows_its_reservation_or_is_refused():
    limit = _limit(resident=40 * MIB)
    with limit.reserve(1 * MIB) as held:
        held.grow(2 * MIB)  # a gzip body, decompressed
        assert limit.reserved == 2 * MIB * EXPANSION
        with pytest.raises(MemoryPressure):
            held.grow(20 * MIB)
        assert limit.reserved == 2 * MIB * EXPANSION
    assert limit.reserved == 0


def test_no_limit_admits_everything_and_the_default_is_half_the_memory_up_to_2_gib():
    unlimited = MemoryLimit(None)
    with unlimited.reserve(1 << 40) as held:
        held.grow(1 << 41)
        assert not unlimited.over() and unlimited.reserved == 0
    assert default_limit_mib(1 << 30) == 512
    assert default_limit_mib(64 << 30) == 2048
    assert default_limit_mib(64 * MIB) == 64


def test_the_resident_set_is_the_collectors_and_its_workers_not_every_child_process():
    """A child the collector starts, such as the embedded ClickHouse, is not counted unless included (the extraction
    workers are)."""
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; held = bytearray(96 << 20); held[::4096] = b'x' * len(held[::4096]); "
            "print(flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert child.stdout is not None and child.stdout.readline()  # its memory is touched
        processes = Processes()
        alone = processes()
        processes.include(lambda: [child.pid])
        assert processes() - alone >= 90 * MIB
    finally:
        child.kill()
        child.wait()


def _kv(key: str, value: str | int) -> KeyValue:
    if isinstance(value, str):
        return KeyValue(key=key, value=AnyValue(string_value=value))
    return KeyValue(key=key, value=AnyValue(int_value=value))


def _ordinary_spans(megabytes: float) -> bytes:
    """A serialized ResourceSpans of database spans (long queries), about `megabytes` large."""
    resource_spans = ResourceSpans()
    resource_spans.resource.attributes.append(_kv("service.name", "checkout"))
    scope = resource_spans.scope_spans.add()
    query = "SELECT * FROM orders WHERE id IN (" + ", ".join(str(n) for n in range(400)) + ")"
    for index in range(int(megabytes * MIB) // (len(query) + 120)):
        span = scope.spans.add(trace_id=index.to_bytes(16, "big"), span_id=(index + 1).to_bytes(8, "big"))
        span.name, span.kind = "SELECT orders", Span.SPAN_KIND_CLIENT
        span.attributes.extend([_kv("db.system.name", "postgresql"), _kv("db.query.text", query)])
    return resource_spans.SerializeToString()


def _request(ordinary: bytes, sender: int, number: int, calls: int) -> bytes:
    """One request: `ordinary` and `calls` LLM calls whose ids are this sender's and request's own."""
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.append(_kv("service.name", "checkout"))
    scope = resource_spans.scope_spans.add()
    for index in range(calls):
        span = scope.spans.add(
            trace_id=bytes([sender + 1, number + 1]) + index.to_bytes(14, "big"),
            span_id=bytes([sender + 1, number + 1]) + index.to_bytes(6, "big"),
            name="chat gpt-4o-mini",
            start_time_unix_nano=time.time_ns(),
            end_time_unix_nano=time.time_ns() + 10**9,
        )
        span.attributes.extend(
            [
                _kv("gen_ai.operation.name", "chat"),
                _kv("gen_ai.provider.name", "openai"),
                _kv("gen_ai.request.model", "gpt-4o-mini"),
                _kv("gen_ai.response.id", f"chatcmpl-{sender}-{number}-{index}"),
                _kv("gen_ai.usage.input_tokens", 100 + index),
                _kv("gen_ai.usage.output_tokens", 20),
            ]
        )
    field = b"\x0a" + _varint(len(ordinary)) + ordinary  # ExportTraceServiceRequest.resource_spans
    return request.SerializeToString() + field


def _peak_resident_bytes(pid: int) -> int:
    """The most resident memory the process has had (VmHWM)."""
    line = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


def test_a_burst_against_a_small_limit_is_refused_in_part_stays_under_it_and_loses_nothing(clickhouse, database):
    limit_mib, senders, per_sender, calls = 224, 24, 3, 20
    collector = start_collector(
        ["--clickhouse-url", clickhouse.url, "--database", database, "--memory-limit-mib", str(limit_mib)]
    )
    ordinary = _ordinary_spans(2)
    statuses: list[int] = []
    retry_after: set[str | None] = set()
    lock = threading.Lock()

    def send(sender: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", collector.http_port, timeout=120)
        for number in range(per_sender):
            body = _request(ordinary, sender, number, calls)
            while True:  # as an OTel SDK exporter does: retry a 503 after its Retry-After
                connection.request("POST", "/v1/traces", body, {"Content-Type": "application/x-protobuf"})
                response = connection.getresponse()
                response.read()
                with lock:
                    statuses.append(response.status)
                if response.status != 503:
                    break
                with lock:
                    retry_after.add(response.getheader("Retry-After"))
                time.sleep(0.2)
        connection.close()

    try:
        threads = [threading.Thread(target=send, args=(sender,)) for sender in range(senders)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        peak = _peak_resident_bytes(collector.process.pid)
        with urllib.request.urlopen(f"http://127.0.0.1:{collector.http_port}/metrics", timeout=10) as response:
            metrics = response.read().decode()
        expected = senders * per_sender * calls
        query = f"SELECT count() FROM {database}.llm_calls"
        stored = wait_for(lambda: int(clickhouse.client.command(query)), expected, timeout=60)
    finally:
        collector.stop()

    assert set(statuses) == {200, 503}  # refused in part, with backpressure, and every request taken in the end
    assert statuses.count(200) == senders * per_sender and retry_after == {"1"}
    assert 'reason="memory_limit"' in metrics
    assert peak < limit_mib * MIB
    assert stored == expected  # nothing accepted was lost


@pytest.fixture
def limited_receivers(client, tmp_path):
    """Both receivers of a pipeline whose memory is already over its limit."""
    queue = DiskQueue(tmp_path / "queue", ("store",), max_bytes=1 << 24)
    limit = MemoryLimit(100 * MIB, interval=0, resident=Resident(100 * MIB))
    pipeline = Pipeline(ClickHouseStore(client), queue, memory_limit=limit)
    grpc_receiver = GrpcReceiver(pipeline, port=0).start()
    http_receiver = HttpReceiver(pipeline, port=0).start()
    yield grpc_receiver, http_receiver, limit
    grpc_receiver.stop()
    http_receiver.stop()
    queue.close()


def test_both_receivers_refuse_at_the_limit_with_a_retry_delay_an_sdk_honours(limited_receivers):
    grpc_receiver, http_receiver, limit = limited_receivers
    body = _request(b"", 0, 0, 2)
    connection = http.client.HTTPConnection("127.0.0.1", http_receiver.port, timeout=10)
    connection.request("POST", "/v1/traces", body, {"Content-Type": "application/x-protobuf"})
    response = connection.getresponse()
    response.read()
    assert (response.status, response.getheader("Retry-After")) == (503, "1")
    connection.close()

    with grpc.insecure_channel(f"127.0.0.1:{grpc_receiver.port}") as channel:
        export = channel.unary_unary("/opentelemetry.proto.collector.trace.v1.TraceService/Export")
        with pytest.raises(grpc.RpcError) as refused:
            export(body, timeout=10)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE  # retried by every OTLP exporter
    assert dict(refused.value.trailing_metadata())["google.rpc.retryinfo-bin"]
    assert limit.refused == 2
