# SPDX-License-Identifier: Apache-2.0
"""A streamed Gemini call ends its span exactly once however the app stops reading; and the app sees the same
results and errors with and without instrumentation.

The stream is a recorded one (gemini-2.0-flash, 9 input and 527 output tokens), served through the SDK's own
HTTP client by an in-process transport.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from google.genai import errors

from llmledger.instrumentation.google_genai import GoogleGenAIInstrumentor
from tests.instrumentation import zero_code
from tests.instrumentation.google_genai import transport
from tests.instrumentation.google_genai.transport import MODEL, PLAIN, STREAM
from tests.instrumentation.imports import loaded_by
from tests.instrumentation.openai.transport import recorded_body
from tests.instrumentation.passthrough import Raised, raised_by, without_and_with
from tests.instrumentation.telemetry import metrics_by_name, one_span


def _streaming():
    return transport.client(lambda request: transport.sse(recorded_body(*STREAM)))


def _plain(status=200, body=None):
    payload = body if body is not None else recorded_body(*PLAIN)
    return transport.client(lambda request: transport.response(status, payload))


def test_stream_read_to_the_end(instrumented, span_exporter):
    chunks = list(_streaming().models.generate_content_stream(model=MODEL, contents="Tell me a story"))

    span = one_span(span_exporter)
    attrs = span.attributes
    assert len(chunks) > 2
    assert span.name == "generate_content gemini-2.0-flash"
    assert attrs["llmledger.usage.complete"] is True
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (9, 527)
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert attrs["gen_ai.usage.cost"] == pytest.approx((9 * 0.1 + 527 * 0.4) / 1e6)


def test_stream_left_after_one_chunk_ends_incomplete(instrumented, span_exporter):
    stream = _streaming().models.generate_content_stream(model=MODEL, contents="Tell me a story")
    next(stream)
    del stream

    span = one_span(span_exporter)
    assert span.attributes["llmledger.usage.complete"] is False
    assert "gen_ai.usage.cost" not in span.attributes


def test_stream_closed_early_ends_incomplete(instrumented, span_exporter):
    stream = _streaming().models.generate_content_stream(model=MODEL, contents="Tell me a story")
    for _ in stream:
        break
    stream.close()

    assert one_span(span_exporter).attributes["llmledger.usage.complete"] is False


def _read_until_the_connection_drops() -> tuple[list[str], Raised]:
    """What the app sees reading a stream whose connection drops after two events: the text, then the error."""
    body = recorded_body(*STREAM).replace(b"\r\n\r\n", b"\n\n")  # Gemini ends events with CRLF pairs
    client = transport.client(lambda request: transport.failing_stream(body, 2))
    received: list[str] = []

    def read():
        for chunk in client.models.generate_content_stream(model=MODEL, contents="Tell me a story"):
            received.append(chunk.text)

    return received, raised_by(read)


def test_a_connection_lost_mid_stream_reaches_the_app_and_marks_the_span(tracer_provider, span_exporter):
    without, instrumented = without_and_with(
        GoogleGenAIInstrumentor(), _read_until_the_connection_drops, tracer_provider=tracer_provider
    )

    assert instrumented == without  # the same chunks, then the same exception, as without llmledger
    (received, raised) = instrumented
    assert received
    span = one_span(span_exporter)
    assert span.attributes["error.type"] == raised.type.__qualname__
    assert span.status.status_code.name == "ERROR"
    assert span.attributes["llmledger.usage.complete"] is False


def test_async_stream(instrumented, span_exporter):
    async def run():
        client = _streaming().aio
        return [c async for c in await client.models.generate_content_stream(model=MODEL, contents="Tell me")]

    assert asyncio.run(run())
    span = one_span(span_exporter)
    assert span.attributes["llmledger.usage.complete"] is True
    assert span.attributes["gen_ai.usage.output_tokens"] == 527


def test_the_app_receives_identical_results_with_and_without_instrumentation(tracer_provider, span_exporter):
    def results():
        plain = _plain().models.generate_content(model=MODEL, contents="Say this is a test")
        chunks = list(_streaming().models.generate_content_stream(model=MODEL, contents="Tell me a story"))
        return plain.model_dump(exclude={"sdk_http_response"}), [c.text for c in chunks]

    before = results()
    instrumentor = GoogleGenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    try:
        after = results()
    finally:
        instrumentor.uninstrument()
    assert after == before
    assert len(span_exporter.get_finished_spans()) == 2
    _plain().models.generate_content(model=MODEL, contents="Say this is a test")
    assert len(span_exporter.get_finished_spans()) == 2  # uninstrumented: no more spans


def test_api_errors_reach_the_app_unchanged(instrumented, span_exporter):
    error = json.dumps({"error": {"code": 429, "message": "Resource exhausted", "status": "RESOURCE_EXHAUSTED"}})
    with pytest.raises(errors.ClientError) as raised:
        _plain(429, error.encode()).models.generate_content(model=MODEL, contents="Say this is a test")

    assert raised.value.code == 429
    span = one_span(span_exporter)
    assert span.attributes["error.type"] == "ClientError"
    assert span.status.status_code.name == "ERROR"
    assert "gen_ai.usage.cost" not in span.attributes


def test_content_is_off_by_default_and_on_when_asked(monkeypatch, tracer_provider, span_exporter):
    for capture in ("", "true"):
        monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", capture)
        instrumentor = GoogleGenAIInstrumentor()
        instrumentor.instrument(tracer_provider=tracer_provider)
        try:
            _plain().models.generate_content(model=MODEL, contents="Say this is a test")
        finally:
            instrumentor.uninstrument()
    off, on = span_exporter.get_finished_spans()
    assert "gen_ai.input.messages" not in off.attributes
    assert "Say this is a test" in on.attributes["gen_ai.input.messages"]
    assert "gen_ai.output.messages" in on.attributes


def test_metrics_count_tokens_and_dollars(instrumented, metric_reader):
    _plain().models.generate_content(model=MODEL, contents="Say this is a test")

    metrics = metrics_by_name(metric_reader)
    tokens = {p.attributes["gen_ai.token.type"]: p.sum for p in metrics["gen_ai.client.token.usage"].data.data_points}
    assert tokens == {"input": 45, "output": 23}
    (cost,) = metrics["llmledger.client.cost"].data.data_points
    assert cost.value == pytest.approx(0.0000137)  # 45 × $0.10/M + 23 × $0.40/M


def test_importing_the_instrumentor_loads_neither_the_sdk_nor_prices():
    assert loaded_by("llmledger.instrumentation.google_genai", "google.genai", "genai_prices.data") == []


def test_registered_for_opentelemetry_instrument_under_its_own_name():
    from importlib.metadata import entry_points

    (entry,) = [e for e in entry_points(group="opentelemetry_instrumentor") if e.name == "llmledger_google_genai"]
    assert entry.load() is GoogleGenAIInstrumentor


def test_zero_code_under_opentelemetry_instrument_gives_one_costed_span_per_call(tmp_path):
    """`opentelemetry-instrument python app.py` with no code change: a call and a stream, one span each, costed."""
    spans = zero_code.exported_spans(transport.zero_code_app(), tmp_path)

    assert [s["name"] for s in spans] == [f"generate_content {MODEL}"] * 2
    costs = [s["attributes"]["gen_ai.usage.cost"] for s in spans]
    assert costs == pytest.approx([(45 * 0.1 + 23 * 0.4) / 1e6, (9 * 0.1 + 527 * 0.4) / 1e6])
    assert {s["attributes"]["gen_ai.provider.name"] for s in spans} == {"gcp.gemini"}
    assert {s["attributes"]["llmledger.price.source"] for s in spans} == {"genai-prices"}
