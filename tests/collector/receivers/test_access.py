# SPDX-License-Identifier: Apache-2.0
"""Access to the receivers: a bearer token on both protocols (refused without it or with a wrong one, accepted
with it, health probes open), and TLS on both, driven by the real OTLP exporters trusting a CA made here."""

from __future__ import annotations

import http.client

import grpc
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.sdk.trace.export import SpanExportResult

from llmledger.collector.exporters.clickhouse.writer import ClickHouseStore
from llmledger.collector.health import health_routes
from llmledger.collector.pipeline.pipeline import Pipeline
from llmledger.collector.pipeline.queue import DiskQueue
from llmledger.collector.receivers._access import BearerToken, read_token
from llmledger.collector.receivers._rejections import Rejections
from llmledger.collector.receivers.otlp_grpc import GrpcReceiver
from llmledger.collector.receivers.otlp_http import HttpReceiver
from tests.collector.running import wait_for

from .conftest import PROTOBUF, grpc_export, otlp_body, post, spans

TOKEN = "s3cret-token_0123456789"


@pytest.fixture(scope="module")
def pipeline(client, tmp_path_factory):
    queue = DiskQueue(tmp_path_factory.mktemp("queue"))
    pipeline = Pipeline(ClickHouseStore(client), queue, flush_interval=0.1).start()
    yield pipeline
    pipeline.stop(timeout=10)


@pytest.fixture(scope="module")
def guarded(client, pipeline):
    """Both receivers requiring TOKEN, sharing one rejection count, with the health routes."""
    rejections = Rejections()
    token = BearerToken(TOKEN)
    routes = health_routes(pipeline, client.ping, rejections)
    grpc_receiver = GrpcReceiver(pipeline, port=0, token=token, rejections=rejections).start()
    http_receiver = HttpReceiver(pipeline, port=0, token=token, rejections=rejections, routes=routes).start()
    yield grpc_receiver, http_receiver, rejections
    http_receiver.stop()
    grpc_receiver.stop()


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer"])
def test_http_refuses_without_the_token_with_401_and_www_authenticate(guarded, authorization):
    _, http_receiver, _ = guarded
    headers = dict(PROTOBUF, **({"Authorization": authorization} if authorization else {}))

    status, response_headers, _ = post(http_receiver.port, otlp_body(), headers)

    assert status == 401
    assert response_headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("authorization", [f"Bearer {TOKEN}", f"bearer {TOKEN}"])
def test_http_accepts_the_token(guarded, authorization):
    _, http_receiver, _ = guarded

    status, _, _ = post(http_receiver.port, otlp_body(), dict(PROTOBUF, Authorization=authorization))

    assert status == 200


@pytest.mark.parametrize("metadata", [(), (("authorization", "Bearer wrong"),), (("authorization", TOKEN),)])
def test_grpc_refuses_without_the_token_with_unauthenticated(guarded, metadata):
    grpc_receiver, _, _ = guarded

    assert grpc_export(grpc_receiver.port, otlp_body(), metadata) == grpc.StatusCode.UNAUTHENTICATED


def test_grpc_accepts_the_token(guarded):
    grpc_receiver, _, _ = guarded

    assert grpc_export(grpc_receiver.port, otlp_body(), (("authorization", f"Bearer {TOKEN}"),)) == grpc.StatusCode.OK


def test_the_real_exporters_fail_without_the_token_and_deliver_with_it(guarded, client):
    grpc_receiver, http_receiver, _ = guarded
    http_url = f"http://127.0.0.1:{http_receiver.port}/v1/traces"
    grpc_target = f"127.0.0.1:{grpc_receiver.port}"
    header = {"authorization": f"Bearer {TOKEN}"}
    refused = [
        HttpExporter(endpoint=http_url, timeout=10),
        GrpcExporter(endpoint=grpc_target, insecure=True, timeout=10),
    ]
    allowed = [
        HttpExporter(endpoint=http_url, headers=header, timeout=10),
        GrpcExporter(endpoint=grpc_target, insecure=True, headers=header, timeout=10),
    ]
    sent = spans(2)

    for exporter in refused:
        assert exporter.export(sent) == SpanExportResult.FAILURE
    for exporter in allowed:
        assert exporter.export(sent) == SpanExportResult.SUCCESS
    for exporter in refused + allowed:
        exporter.shutdown()


def test_health_probes_need_no_token_but_metrics_and_other_routes_do(guarded):
    _, http_receiver, _ = guarded
    port = http_receiver.port

    assert post(port, path="/healthz", method="GET")[0] == 200
    assert post(port, path="/readyz", method="GET")[0] == 200
    assert post(port, path="/metrics", method="GET")[0] == 401
    assert post(port, path="/metrics", method="GET", headers={"Authorization": f"Bearer {TOKEN}"})[0] == 200


def test_refusals_are_counted_as_unauthenticated_per_protocol(guarded):
    grpc_receiver, http_receiver, rejections = guarded
    before = rejections.snapshot()

    post(http_receiver.port, otlp_body(), PROTOBUF)
    grpc_export(grpc_receiver.port, otlp_body())

    after = rejections.snapshot()
    for protocol in ("http", "grpc"):
        key = (protocol, "unauthenticated")
        assert after[key] == before.get(key, 0) + 1


def test_a_token_comes_directly_or_from_the_first_line_of_a_file(tmp_path):
    (tmp_path / "token").write_text(f"{TOKEN}\nignored\n")
    (tmp_path / "empty").write_text("\n")

    assert read_token(None, None) is None
    assert read_token(TOKEN, None).allows(f"Bearer {TOKEN}")
    assert read_token(None, tmp_path / "token").allows(f"Bearer {TOKEN}")
    for token, file, message in [
        (TOKEN, tmp_path / "token", "not both"),
        (None, tmp_path / "empty", "empty"),
        (None, tmp_path / "missing", "cannot read"),
        ("has space", None, "visible ASCII"),
    ]:
        with pytest.raises(ValueError, match=message):
            read_token(token, file)


# -- TLS ----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def secured(pipeline, tls_files):
    grpc_receiver = GrpcReceiver(pipeline, port=0, tls=tls_files.files).start()
    http_receiver = HttpReceiver(
        pipeline, port=0, tls=tls_files.files, routes={"/healthz": lambda: (200, "text/plain", b"ok")}
    ).start()
    yield grpc_receiver, http_receiver
    http_receiver.stop()
    grpc_receiver.stop()


def test_the_real_exporters_deliver_over_tls_trusting_the_ca(secured, tls_files, client, monkeypatch):
    # requests prefers these variables over the exporter's own certificate_file (psf/requests#3829)
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    grpc_receiver, http_receiver = secured
    ca = tls_files.ca
    http_exporter = HttpExporter(
        endpoint=f"https://127.0.0.1:{http_receiver.port}/v1/traces", certificate_file=str(ca), timeout=10
    )
    grpc_exporter = GrpcExporter(
        endpoint=f"127.0.0.1:{grpc_receiver.port}",
        credentials=grpc.ssl_channel_credentials(ca.read_bytes()),
        timeout=10,
    )
    sent = spans(3, **{"llmledger.tenant": "tls-test"})

    try:
        assert http_receiver.scheme == "https"
        assert http_exporter.export(sent[:2]) == SpanExportResult.SUCCESS
        assert grpc_exporter.export(sent[2:]) == SpanExportResult.SUCCESS
    finally:
        http_exporter.shutdown()
        grpc_exporter.shutdown()
    count = "SELECT count() FROM llm_calls FINAL WHERE Tenant = 'tls-test'"
    assert wait_for(lambda: client.command(count), 3) == 3


def test_plaintext_and_untrusted_clients_are_turned_away_and_tls_still_serves(secured, tls_files):
    grpc_receiver, http_receiver = secured

    with pytest.raises(ConnectionError):
        post(http_receiver.port, otlp_body(), PROTOBUF)  # plain HTTP to a TLS port: the handshake fails
    assert grpc_export(grpc_receiver.port, otlp_body()) == grpc.StatusCode.UNAVAILABLE
    untrusted = grpc.ssl_channel_credentials()  # the system roots do not include the test CA
    assert grpc_export(grpc_receiver.port, otlp_body(), credentials=untrusted) == grpc.StatusCode.UNAVAILABLE

    assert post(http_receiver.port, path="/healthz", method="GET", tls=tls_files.client_context())[0] == 200
    assert post(http_receiver.port, otlp_body(), PROTOBUF, tls=tls_files.client_context())[0] == 200


def test_a_key_that_does_not_match_the_certificate_is_refused_at_start(tls_files, tmp_path):
    from llmledger.collector.receivers._tls import TlsFiles

    wrong = TlsFiles(tls_files.ca, tls_files.files.key)

    with pytest.raises(ValueError, match="cannot use TLS certificate"):
        wrong.server_context()


def test_a_large_body_without_the_token_still_gets_its_401_and_the_connection_serves_on(guarded):
    _, http_receiver, _ = guarded

    connection = http.client.HTTPConnection("127.0.0.1", http_receiver.port, timeout=30)
    try:
        connection.request("POST", "/v1/traces", body=b"\0" * (4 << 20), headers=PROTOBUF)
        refused = connection.getresponse()
        refused.read()
        connection.request(
            "POST", "/v1/traces", body=otlp_body(), headers=dict(PROTOBUF, Authorization=f"Bearer {TOKEN}")
        )
        accepted = connection.getresponse()
        accepted.read()
    finally:
        connection.close()
    assert (refused.status, accepted.status) == (401, 200)
