# SPDX-License-Identifier: Apache-2.0
"""OTLP/gRPC receiver: `TraceService/Export`, and `MetricsService/Export` and `LogsService/Export` on the same port.

Registered as generic handlers with no deserializer, so each method receives the request's bytes: they are
parsed once here and forwarded as they came (metrics and logs are only parsed, counted and passed on: see
`Pipeline.accept_signal`). gzip is handled by grpcio, and `max_request_bytes` is grpcio's
`max_receive_message_length`, which it applies to the decompressed message while decompressing, so a gzip bomb
is refused (RESOURCE_EXHAUSTED) without being inflated. Bad bytes → INVALID_ARGUMENT; no or a wrong bearer token
when one is set → UNAUTHENTICATED; a full pipeline → RESOURCE_EXHAUSTED (retryable per the OTLP spec, with a
retry delay in the message). Every refusal this module makes is counted by reason in `rejections`; the ones
grpcio makes before the handler runs (size) are not seen here.
The RESOURCE_EXHAUSTED of a full queue carries a `google.rpc.RetryInfo` delay, both as
`google.rpc.retryinfo-bin` (read by the Python OTLP exporter) and inside `grpc-status-details-bin` (the standard
rich status, read by the Collector's exporters and grpc-go).
"""

from __future__ import annotations

import contextlib
import functools
import logging
from concurrent import futures
from typing import Any, NoReturn

import grpc
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceResponse,
)

from ..otlp.signals import LOGS, METRICS, TRACES_SERVICE, PassedSignal
from ..otlp.wire import TraceExport
from ..pipeline.memory_limit import MemoryPressure
from ..pipeline.pipeline import Backpressure, Pipeline, RequestTooLarge
from . import _rejections as reasons
from ._access import BearerToken
from ._rejections import Rejections
from ._tls import TlsFiles

_log = logging.getLogger(__name__)
SERVICE = TRACES_SERVICE
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
_OK = ExportTraceServiceResponse().SerializeToString()
_PROTOCOL = "grpc"


class GrpcReceiver:
    def __init__(
        self,
        pipeline: Pipeline,
        host: str = "127.0.0.1",
        port: int = 4317,
        workers: int = 4,
        *,
        max_request_bytes: int = MAX_MESSAGE_BYTES,
        token: BearerToken | None = None,
        tls: TlsFiles | None = None,
        rejections: Rejections | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.rejections = rejections or Rejections()
        self._token = token
        self._server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="llmledger-grpc"),
            options=[
                ("grpc.max_receive_message_length", max_request_bytes),
                ("grpc.so_reuseport", 0),
            ],
        )
        # No (de)serializers: bytes in, bytes out.
        handler: grpc.RpcMethodHandler[bytes, bytes] = grpc.unary_unary_rpc_method_handler(self._export)
        handlers = [grpc.method_handlers_generic_handler(SERVICE, {"Export": handler})]
        for signal in (METRICS, LOGS):
            passed: grpc.RpcMethodHandler[bytes, bytes] = grpc.unary_unary_rpc_method_handler(
                functools.partial(self._export_passed, signal)
            )
            handlers.append(grpc.method_handlers_generic_handler(signal.service, {"Export": passed}))
        self._server.add_generic_rpc_handlers(handlers)
        address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        try:
            if tls is None:
                self.port = self._server.add_insecure_port(address)
            else:
                self.port = self._server.add_secure_port(address, grpc.ssl_server_credentials([tls.pem_pair()]))
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
        if self._token is not None and not self._token.allows(_metadata(context, "authorization")):
            self._refuse(
                context, grpc.StatusCode.UNAUTHENTICATED, reasons.UNAUTHENTICATED, "a bearer token is required"
            )
        with contextlib.ExitStack() as stack:
            self._reserve(context, len(body), stack)
            try:
                export = TraceExport.from_protobuf(body)
            except DecodeError as error:
                self._refuse(
                    context,
                    grpc.StatusCode.INVALID_ARGUMENT,
                    reasons.MALFORMED,
                    f"malformed ExportTraceServiceRequest: {error}",
                )
            try:
                outcome = self.pipeline.accept(export)
            except Exception as error:
                self._refuse_failure(context, error)
        if not outcome.rejected_spans:
            return _OK
        partial = ExportTracePartialSuccess(rejected_spans=outcome.rejected_spans, error_message=outcome.message)
        return ExportTraceServiceResponse(partial_success=partial).SerializeToString()

    def _export_passed(self, signal: PassedSignal, body: bytes, context: Any) -> bytes:
        """A metrics or logs Export: the same checks and refusals as traces; its answer is always a plain OK (an
        empty response message: nothing in it is ever rejected)."""
        if self._token is not None and not self._token.allows(_metadata(context, "authorization")):
            self._refuse(
                context, grpc.StatusCode.UNAUTHENTICATED, reasons.UNAUTHENTICATED, "a bearer token is required"
            )
        with contextlib.ExitStack() as stack:
            self._reserve(context, len(body), stack)
            try:
                request = signal.request.FromString(body)
            except DecodeError as error:
                self._refuse(
                    context,
                    grpc.StatusCode.INVALID_ARGUMENT,
                    reasons.MALFORMED,
                    f"malformed {signal.request_name}: {error}",
                )
            try:
                self.pipeline.accept_signal(signal, request, body)
            except Exception as error:
                self._refuse_failure(context, error)
        return b""

    def _reserve(self, context: Any, size: int, stack: contextlib.ExitStack) -> None:
        """Reserve in `stack` the memory a request of `size` bytes may hold while it is handled (`MemoryLimit`);
        at the memory limit, refuse it with UNAVAILABLE and a retry delay."""
        try:
            stack.enter_context(self.pipeline.memory.reserve(size))
        except MemoryPressure as error:
            self._refuse_failure(context, error)

    def _refuse_failure(self, context: Any, error: Exception) -> NoReturn:
        """Refuse a request the pipeline did not take, with the status its exception calls for."""
        if isinstance(error, Backpressure):
            context.set_trailing_metadata(_retry_metadata(str(error), error.retry_after))
            self._refuse(context, grpc.StatusCode.RESOURCE_EXHAUSTED, reasons.BACKPRESSURE, str(error))
        if isinstance(error, MemoryPressure):  # UNAVAILABLE: retried by every OTLP exporter, RetryInfo or not
            code = grpc.StatusCode.UNAVAILABLE
            context.set_trailing_metadata(_retry_metadata(str(error), error.retry_after, code))
            self._refuse(context, code, reasons.MEMORY_LIMIT, str(error))
        if isinstance(error, RequestTooLarge):  # not RESOURCE_EXHAUSTED: exporters would retry what can never fit
            self._refuse(context, grpc.StatusCode.INVALID_ARGUMENT, reasons.TOO_LARGE, str(error))
        _log.error("could not process an OTLP/gRPC request", exc_info=error)
        self._refuse(
            context,
            grpc.StatusCode.INTERNAL,
            reasons.INTERNAL,
            "the collector failed to process the request; see its log",
        )

    def _refuse(self, context: Any, code: grpc.StatusCode, reason: str, message: str) -> NoReturn:
        self.rejections.count(_PROTOCOL, reason)
        context.abort(code, message)
        raise AssertionError("unreachable: abort raises")


def _metadata(context: Any, key: str) -> str | None:
    for name, value in context.invocation_metadata() or ():
        if name == key:
            return value if isinstance(value, str) else None
    return None


def _retry_metadata(
    message: str, seconds: int, code: grpc.StatusCode = grpc.StatusCode.RESOURCE_EXHAUSTED
) -> tuple[tuple[str, bytes], ...]:
    from google.protobuf.any_pb2 import Any as AnyMessage
    from google.protobuf.duration_pb2 import Duration
    from google.rpc.error_details_pb2 import RetryInfo
    from google.rpc.status_pb2 import Status

    retry = RetryInfo(retry_delay=Duration(seconds=seconds))
    detail = AnyMessage()
    detail.Pack(retry)
    status = Status(code=code.value[0], message=message, details=[detail])
    return (
        ("google.rpc.retryinfo-bin", retry.SerializeToString()),
        ("grpc-status-details-bin", status.SerializeToString()),
    )
