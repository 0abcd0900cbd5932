# SPDX-License-Identifier: Apache-2.0
"""Requests queued together are forwarded joined, as the OpenTelemetry Collector batches them: consecutive requests
of one signal become one export of all their resources, in order, up to a size; every span reaches the target
once, and the counters still count the requests received."""

from __future__ import annotations

from concurrent import futures
from typing import Any

import grpc
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from llmledger.collector.exporters.clickhouse.embedded import free_port
from llmledger.collector.exporters.forward import CONSUMER, Forwarder, merged
from llmledger.collector.llm_calls import CallColumns
from llmledger.collector.pipeline.queue import DiskQueue, Record
from llmledger.collector.pipeline.records import forward_record, store_record
from tests.collector.running import wait_for


def _traces(service: str, spans: int = 2) -> bytes:
    resource = Resource(attributes=[KeyValue(key="service.name", value=AnyValue(string_value=service))])
    scope = ScopeSpans(
        spans=[Span(name=f"{service} {index}", span_id=bytes([index + 1]) * 8) for index in range(spans)]
    )
    return ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(resource=resource, scope_spans=[scope])]
    ).SerializeToString()


def _records(*payloads: bytes) -> list[Record]:
    records, position = [], 0
    for payload in payloads:
        records.append(Record(position, position + 8 + len(payload), payload))
        position += 8 + len(payload)
    return records


def test_consecutive_requests_of_one_signal_become_one_holding_all_their_resources_in_order():
    bodies = [_traces(f"service-{index}") for index in range(5)]
    records = _records(*(forward_record(body) for body in bodies))
    ((outgoing, end),) = merged(records, 1 << 20)
    assert outgoing is not None and (outgoing.signal, outgoing.requests, end) == ("traces", 5, records[-1].end)
    joined = ExportTraceServiceRequest.FromString(outgoing.body)
    expected = [resource for body in bodies for resource in ExportTraceServiceRequest.FromString(body).resource_spans]
    assert list(joined.resource_spans) == expected


def test_another_signal_or_the_size_limit_starts_a_new_request_and_a_larger_one_goes_alone():
    small, large = _traces("a"), _traces("b", spans=40)
    logs = ExportLogsServiceRequest().SerializeToString() + b"\x0a\x00"
    records = _records(
        forward_record(small),
        forward_record(small),
        forward_record(logs, "logs"),
        forward_record(small),
        forward_record(large),
        forward_record(small),
    )
    sent = [(outgoing.signal, outgoing.body, outgoing.requests, end) for outgoing, end in merged(records, len(large))]
    assert sent == [
        ("traces", small + small, 2, records[1].end),
        ("logs", logs, 1, records[2].end),
        ("traces", small, 1, records[3].end),  # with `large` it would pass the limit
        ("traces", large, 1, records[4].end),  # at the limit alone
        ("traces", small, 1, records[5].end),
    ]
    assert [outgoing.requests for outgoing, _ in merged(records, 0)] == [1] * 6  # no joining


def test_records_with_nothing_to_forward_ride_along_or_pass_alone():
    store = store_record(CallColumns(), {}, [])  # a record of the writer's
    records = _records(store, forward_record(_traces("a")), store, forward_record(_traces("b")), store)
    sent = list(merged(records, 1 << 20))
    assert [(None if outgoing is None else outgoing.requests, end) for outgoing, end in sent] == [
        (None, records[0].end),  # nothing before it to ride with
        (2, records[4].end),  # the cursor moves past every record once the joined request is sent
    ]


def test_a_real_grpc_target_gets_what_was_queued_together_in_fewer_exports_every_span_once(tmp_path):
    exports: list[ExportTraceServiceRequest] = []

    def export(body: bytes, context: Any) -> bytes:
        exports.append(ExportTraceServiceRequest.FromString(body))
        return b""

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(
                "opentelemetry.proto.collector.trace.v1.TraceService",
                {"Export": grpc.unary_unary_rpc_method_handler(export)},
            ),
        )
    )
    port = free_port()
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    queue = DiskQueue(tmp_path / "queue", (CONSUMER,))
    forwarder = Forwarder(f"grpc://127.0.0.1:{port}")
    try:
        queue.append(*(forward_record(_traces(f"service-{index}", spans=3)) for index in range(40)))
        forwarder.start(queue)

        def spans() -> list[str]:
            return [
                span.name
                for request in exports
                for rs in request.resource_spans
                for ss in rs.scope_spans
                for span in ss.spans
            ]

        assert wait_for(lambda: len(spans()), 120) == 120
        assert sorted(spans()) == sorted(f"service-{index} {span}" for index in range(40) for span in range(3))
        assert len(exports) < 40
        forwarder.stop()
        assert forwarder.stats.sent == 40  # requests received and forwarded, not exports made
        assert queue.lag(CONSUMER) == 0
    finally:
        queue.close()
        server.stop(0)
