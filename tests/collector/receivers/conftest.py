# SPDX-License-Identifier: Apache-2.0
"""What the receiver tests share: real spans as OTLP bodies, raw HTTP and gRPC calls, and a self-signed CA.

* `spans(n, **attributes)` — n finished SDK spans of an LLM call (each with fresh ids), for the real exporters.
* `otlp_body(**attributes)` / `otlp_json(**attributes)` — one such span as protobuf / OTLP/JSON bytes.
* `post(port, body, headers, path, method, tls)` — one HTTP request on a fresh connection → (status, headers, body).
* `grpc_export(port, body, metadata, credentials)` — one raw Export call → StatusCode (OK or the refusal).
* `tls_files` (session) — `tests.collector.tls.make_tls()` in a temporary directory.
"""

from __future__ import annotations

import http.client
import ssl
from collections.abc import Mapping

import grpc
import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.collector.running import to_otlp_json
from tests.collector.tls import ServerTls, make_tls

EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
PROTOBUF = {"Content-Type": "application/x-protobuf"}
LLM_ATTRIBUTES = {
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.usage.input_tokens": 5,
}


def spans(count: int = 1, **attributes: object) -> list[ReadableSpan]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("receiver-tests")
    for _ in range(count):
        with tracer.start_as_current_span("chat gpt-4o-mini", attributes={**LLM_ATTRIBUTES, **attributes}):
            pass
    return list(exporter.get_finished_spans())


def otlp_body(**attributes: object) -> bytes:
    return encode_spans(spans(1, **attributes)).SerializeToString()


def otlp_json(**attributes: object) -> bytes:
    return to_otlp_json(encode_spans(spans(1, **attributes)))


def post(
    port: int,
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
    path: str = "/v1/traces",
    method: str = "POST",
    tls: ssl.SSLContext | None = None,
) -> tuple[int, http.client.HTTPMessage, bytes]:
    if tls is None:
        connection: http.client.HTTPConnection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    else:
        connection = http.client.HTTPSConnection("127.0.0.1", port, timeout=30, context=tls)
    try:
        connection.request(method, path, body=body if method in ("POST", "PUT") else None, headers=dict(headers or {}))
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def grpc_export(
    port: int,
    body: bytes,
    metadata: tuple[tuple[str, str], ...] = (),
    credentials: grpc.ChannelCredentials | None = None,
    compression: grpc.Compression | None = None,
) -> grpc.StatusCode:
    target = f"127.0.0.1:{port}"
    channel = grpc.insecure_channel(target) if credentials is None else grpc.secure_channel(target, credentials)
    with channel:
        try:
            channel.unary_unary(EXPORT)(body, metadata=metadata, timeout=30, compression=compression)
        except grpc.RpcError as error:
            return error.code()
    return grpc.StatusCode.OK


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> ServerTls:
    return make_tls(tmp_path_factory.mktemp("tls"))
