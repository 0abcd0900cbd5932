# SPDX-License-Identifier: Apache-2.0
"""What the receiver tests share: real spans as OTLP bodies, raw HTTP and gRPC calls, and a self-signed CA.

* `spans(n, **attributes)` — n finished SDK spans of an LLM call (each with fresh ids), for the real exporters.
* `otlp_body(**attributes)` / `otlp_json(**attributes)` — one such span as protobuf / OTLP/JSON bytes.
* `post(port, body, headers, path, method, tls)` — one HTTP request on a fresh connection → (status, headers, body).
* `grpc_export(port, body, metadata, credentials)` — one raw Export call → StatusCode (OK or the refusal).
* `tls_files` (session) — `TlsFiles` of a server certificate for 127.0.0.1/localhost signed by a CA made in the
  test; `.ca` is the CA's PEM path, what the exporters are given to trust.
"""

from __future__ import annotations

import datetime
import http.client
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import ip_address
from pathlib import Path

import grpc
import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmledger.collector.receivers._tls import TlsFiles
from tests.collector.running import to_otlp_json

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
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
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


@dataclass(frozen=True)
class ServerTls:
    files: TlsFiles
    ca: Path

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca))


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> ServerTls:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    directory = tmp_path_factory.mktemp("tls")
    now = datetime.datetime.now(datetime.UTC)

    def certificate(subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name, signer, ca: bool):
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            names = [x509.DNSName("localhost"), x509.IPAddress(ip_address("127.0.0.1"))]
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        return builder.sign(signer, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "llmledger test CA")])
    ca_cert = certificate("llmledger test CA", ca_key, ca_name, ca_key, ca=True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = certificate("127.0.0.1", server_key, ca_name, ca_key, ca=False)
    pem = serialization.Encoding.PEM
    (directory / "ca.pem").write_bytes(ca_cert.public_bytes(pem))
    (directory / "server.pem").write_bytes(server_cert.public_bytes(pem))
    (directory / "server.key").write_bytes(
        server_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return ServerTls(TlsFiles(directory / "server.pem", directory / "server.key"), directory / "ca.pem")
