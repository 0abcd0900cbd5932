# SPDX-License-Identifier: Apache-2.0
"""OTLP/gRPC receiver: `opentelemetry.proto.collector.trace.v1.TraceService/Export`.

Registered as a generic handler with no deserializer, so the method receives the request's bytes: they are
parsed once here and forwarded as they came. gzip is handled by grpcio. Bad bytes → INVALID_ARGUMENT;
a full queue → RESOURCE_EXHAUSTED (retryable per the OTLP spec) with a `google.rpc.RetryInfo` delay, both as
`google.rpc.retryinfo-bin` (read by the Python OTLP exporter) and inside `grpc-status-details-bin` (the
standard rich status, read by the Collector's exporters and grpc-go).
"""

from __future__ import annotations

import logging
from concurrent import futures
from typing import Any

import grpc
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from ..pipeline import Backpressure, Pipeline

_log = logging.getLogger(__name__)
SERVICE = "opentelemetry.proto.collector.trace.v1.TraceService"
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
_OK = ExportTraceServiceResponse().SerializeToString()


class GrpcReceiver:
    def __init__(self, pipeline: Pipeline, host: str = "127.0.0.1", port: int = 4317, workers: int = 4) -> None:
        self.pipeline = pipeline
        self._server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="llmledger-grpc"),
            options=[
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                ("grpc.so_reuseport", 0),
            ],
        )
        handler = grpc.unary_unary_rpc_method_handler(self._export)  # no (de)serializers: bytes in, bytes out
        self._server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, {"Export": handler}),))
        address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        try:
            self.port = self._server.add_insecure_port(address)
        except RuntimeError:  # newer grpcio raises instead of returning 0
            self.port = 0
        if self.port == 0:
            raise OSError(f"cannot listen for OTLP/gRPC on {address} (in use?)")
        self.host = host

    def start(self) -> GrpcReceiver:
        self._server.start()
        return self

    def stop(self, grace: float = 2.0) -> None:
        self._server.stop(grace).wait()

    def _export(self, body: bytes, context: Any) -> bytes:
        try:
            request = ExportTraceServiceRequest.FromString(body)
        except DecodeError as error:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"malformed ExportTraceServiceRequest: {error}")
        try:
            outcome = self.pipeline.accept(request, body)
        except Backpressure as error:
            context.set_trailing_metadata(_retry_metadata(str(error), error.retry_after))
            context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, str(error))
        except Exception:
            _log.exception("could not process an OTLP/gRPC request")
            context.abort(grpc.StatusCode.INTERNAL, "the collector failed to process the request; see its log")
        if not outcome.rejected_spans:
            return _OK
        partial = ExportTracePartialSuccess(rejected_spans=outcome.rejected_spans, error_message=outcome.message)
        return ExportTraceServiceResponse(partial_success=partial).SerializeToString()


def _retry_metadata(message: str, seconds: int) -> tuple[tuple[str, bytes], ...]:
    from google.protobuf.any_pb2 import Any as AnyMessage
    from google.protobuf.duration_pb2 import Duration
    from google.rpc.error_details_pb2 import RetryInfo
    from google.rpc.status_pb2 import Status

    retry = RetryInfo(retry_delay=Duration(seconds=seconds))
    detail = AnyMessage()
    detail.Pack(retry)
    status = Status(code=grpc.StatusCode.RESOURCE_EXHAUSTED.value[0], message=message, details=[detail])
    return (
        ("google.rpc.retryinfo-bin", retry.SerializeToString()),
        ("grpc-status-details-bin", status.SerializeToString()),
    )
