# SPDX-License-Identifier: Apache-2.0
"""The Anthropic instrumentor's promises to the app: same results and errors, the span contract, nothing breaks."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from typing import Any

import anthropic
import pytest

from llmledger.instrumentation.anthropic import AnthropicInstrumentor
from tests.instrumentation import zero_code
from tests.instrumentation.anthropic import transport
from tests.instrumentation.anthropic.transport import MESSAGES, OPUS, STREAM, recorded_json
from tests.instrumentation.features import needs, needs_parameter
from tests.instrumentation.imports import loaded_by
from tests.instrumentation.telemetry import metrics_by_name

ARGS = {"model": "claude-3-opus-20240229", "max_tokens": 1024, "messages": MESSAGES}


def _client(body=None):
    return transport.client(transport.json_response(body or recorded_json(*OPUS)))


def _results():
    message = _client().messages.create(**ARGS)
    events = list(
        transport.client(transport.stream_response(STREAM)).messages.create(
            **{**ARGS, "model": "claude-3-5-haiku-20241022"}, stream=True
        )
    )
    return message, events


def test_the_app_receives_identical_results_with_and_without_instrumentation(tracer_provider, span_exporter):
    message_before, events_before = _results()
    instrumentor = AnthropicInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    try:
        message_after, events_after = _results()
        stream = transport.client(transport.stream_response(STREAM)).messages.create(**ARGS, stream=True)
        assert isinstance(stream, anthropic.Stream)
        assert stream.response.status_code == 200
        stream.close()
    finally:
        instrumentor.uninstrument()

    assert type(message_after) is type(message_before)
    assert message_after.model_dump() == message_before.model_dump()
    assert [e.model_dump() for e in events_after] == [e.model_dump() for e in events_before]
    assert len(span_exporter.get_finished_spans()) == 3


def test_uninstrument_restores_every_original(tracer_provider, span_exporter):
    from anthropic.resources.beta.messages import messages as beta
    from anthropic.resources.messages import messages

    originals = (messages.Messages.create, messages.AsyncMessages.stream, beta.Messages.count_tokens)
    instrumentor = AnthropicInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    assert messages.Messages.create is not originals[0]
    instrumentor.uninstrument()

    assert (messages.Messages.create, messages.AsyncMessages.stream, beta.Messages.count_tokens) == originals
    _client().messages.create(**ARGS)
    assert span_exporter.get_finished_spans() == ()


def test_the_span_follows_the_genai_conventions(instrumented, span_exporter):
    # This SDK has no sampling arguments any more (temperature, top_p, top_k): an older one's are read alike.
    needs_parameter(anthropic.resources.Messages.create, "service_tier")
    _client().messages.create(**ARGS, stop_sequences=["END"], service_tier="auto")

    (span,) = span_exporter.get_finished_spans()
    attrs = span.attributes
    assert span.name == "chat claude-3-opus-20240229"
    assert span.kind.name == "CLIENT"
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.provider.name"] == "anthropic"
    assert attrs["gen_ai.request.model"] == "claude-3-opus-20240229"
    assert attrs["gen_ai.request.max_tokens"] == 1024
    assert attrs["anthropic.request.service_tier"] == "auto"
    assert attrs["gen_ai.request.stop_sequences"] == ("END",)
    assert attrs["server.address"] == "api.anthropic.com"
    assert attrs["gen_ai.response.id"].startswith("msg_")
    assert attrs["gen_ai.response.model"] == "claude-3-opus-20240229"
    assert attrs["gen_ai.response.finish_reasons"] == ("end_turn",)
    assert isinstance(attrs["gen_ai.usage.input_tokens"], int)
    assert isinstance(attrs["gen_ai.usage.cost"], float)
    assert "gen_ai.input.messages" not in attrs  # content is off by default
    assert "gen_ai.output.messages" not in attrs


def test_content_is_captured_only_when_asked(monkeypatch, tracer_provider, span_exporter):
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    instrumentor = AnthropicInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    try:
        _client().messages.create(**ARGS, system="Be brief.")
    finally:
        instrumentor.uninstrument()

    (span,) = span_exporter.get_finished_spans()
    assert json.loads(span.attributes["gen_ai.input.messages"]) == [
        {"role": "system", "content": "Be brief."},
        *MESSAGES,
    ]
    assert "OpenTelemetry" in span.attributes["gen_ai.output.messages"]


def test_metrics_count_tokens_duration_and_dollars(instrumented, metric_reader):
    _client().messages.create(**ARGS)

    metrics = metrics_by_name(metric_reader)
    tokens = {p.attributes["gen_ai.token.type"]: p.sum for p in metrics["gen_ai.client.token.usage"].data.data_points}
    assert tokens == {"input": 17, "output": 220}
    assert metrics["gen_ai.client.operation.duration"].data.data_points[0].count == 1
    (cost,) = metrics["llmledger.client.cost"].data.data_points
    assert cost.value == pytest.approx(0.016755)  # 17 × $15/M + 220 × $75/M


def test_api_errors_reach_the_app_unchanged(instrumented, span_exporter):
    error = {"type": "error", "error": {"type": "rate_limit_error", "message": "Rate limited"}}
    with pytest.raises(anthropic.RateLimitError) as raised:
        transport.client(transport.json_response(error, status=429)).messages.create(**ARGS)

    assert raised.value.status_code == 429
    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["error.type"] == "RateLimitError"
    assert span.status.status_code.name == "ERROR"
    assert "gen_ai.usage.cost" not in span.attributes


def test_timeouts_reach_the_app_unchanged(instrumented, span_exporter):
    def timeout(request):
        raise transport.http.ReadTimeout("timed out", request=request)

    with pytest.raises(anthropic.APITimeoutError):
        transport.client(timeout).messages.create(**ARGS)
    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["error.type"] == "APITimeoutError"


def test_async_calls_are_recorded(instrumented, span_exporter):
    async def run():
        client = transport.async_client(transport.json_response(recorded_json(*OPUS)))
        return await client.messages.create(**ARGS)

    message = asyncio.run(run())
    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["gen_ai.usage.output_tokens"] == message.usage.output_tokens


def test_a_response_of_unexpected_shape_still_yields_a_span(instrumented, span_exporter):
    body = recorded_json(*OPUS)
    body["usage"] = {"input_tokens": "many", "output_tokens": -3, "cache_creation": "odd"}
    _client(body).messages.create(**ARGS)

    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["gen_ai.request.model"] == "claude-3-opus-20240229"
    assert "gen_ai.usage.input_tokens" not in span.attributes


def test_with_raw_response_is_recorded_when_parsed(instrumented, span_exporter):
    raw = _client().messages.with_raw_response.create(**ARGS)

    assert raw.headers is not None
    message = raw.parse()
    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["gen_ai.usage.output_tokens"] == message.usage.output_tokens


def test_beta_messages_are_recorded(instrumented, span_exporter):
    _client().beta.messages.create(**ARGS, betas=["context-management-2025-06-27"])

    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["gen_ai.usage.cost"] == pytest.approx(0.016755)


def test_a_bug_of_ours_while_starting_lets_the_call_through(instrumented, span_exporter, monkeypatch):
    from llmledger.instrumentation.anthropic import _targets

    def broken(self, resource):
        raise RuntimeError("instrumentation bug")

    monkeypatch.setattr(_targets.Locator, "__call__", broken)
    message = _client().messages.create(**ARGS)
    with transport.client(transport.stream_response(STREAM)).messages.stream(**ARGS) as stream:
        final = stream.get_final_message()

    assert message.content and final.content
    assert span_exporter.get_finished_spans() == ()


def test_registered_for_opentelemetry_instrument_under_its_own_name():
    from importlib.metadata import entry_points

    (entry,) = [e for e in entry_points(group="opentelemetry_instrumentor") if e.name == "llmledger_anthropic"]
    assert entry.load() is AnthropicInstrumentor
    assert AnthropicInstrumentor().instrumentation_dependencies() == ("anthropic >= 1.0.0, < 3",)


def test_importing_the_instrumentor_loads_neither_the_sdk_nor_prices():
    assert loaded_by("llmledger.instrumentation.anthropic", "anthropic", "genai_prices.data") == []


_GENAI_BACKEND = """
import json, sys
{before}
import httpx2
from google.genai import _api_client, types
options = types.HttpOptions(client_args={{"timeout": httpx2.Timeout(5)}})
print(json.dumps([_api_client._detect_http_backend(options), "anthropic" in sys.modules]))
"""


def _genai_backend(before: str) -> list[Any]:
    """In a fresh interpreter: run `before`, then ask google-genai which HTTP library an httpx2 timeout is from."""
    done = subprocess.run(
        [sys.executable, "-c", _GENAI_BACKEND.format(before=before)], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def test_instrumenting_leaves_google_genais_http_backend_detection_alone_in_an_app_without_anthropic():
    """Importing anthropic rewrites `httpx2.Timeout.__module__` to "anthropic", after which google-genai no longer
    sees an httpx2 object as httpx2's. llmledger imports anthropic only once the app has."""
    from google.genai import _api_client

    needs(_api_client, "_detect_http_backend")
    instrument = (
        "from llmledger.instrumentation.anthropic import AnthropicInstrumentor\nAnthropicInstrumentor().instrument()"
    )

    assert _genai_backend("import anthropic") == [None, True]  # the control: what importing anthropic does
    assert _genai_backend(instrument) == ["httpx2", False]


def test_with_streaming_response_of_a_stream(instrumented, span_exporter):
    client = transport.client(transport.stream_response(STREAM))
    with client.messages.with_streaming_response.create(
        **{**ARGS, "model": "claude-3-5-haiku-20241022"}, stream=True
    ) as response:
        events = list(response.parse())

    (span,) = span_exporter.get_finished_spans()
    assert events[-1].type == "message_stop"
    assert span.attributes["gen_ai.usage.output_tokens"] == 108
    assert span.attributes["llmledger.usage.complete"] is True


def _zero_code_spans(tmp_path, native: str, disabled: str = zero_code.PEERS) -> list[dict]:
    """The spans of `transport.zero_code_app()` under `opentelemetry-instrument`, the SDK's own tracing on or off."""
    return zero_code.exported_spans(
        transport.zero_code_app(),
        tmp_path,
        ANTHROPIC_OPEN_TELEMETRY="" if native == "on" else "false",  # the SDK reads only "false" as off
        OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=disabled,
    )


def test_zero_code_control_without_llmledger_the_sdk_traces_itself(tmp_path):
    """So that the test below is not vacuous: under `opentelemetry-instrument` the SDK makes its own spans."""
    needs_parameter(anthropic.Anthropic.__init__, "open_telemetry")  # the SDK's own tracing (anthropic 2)
    spans = _zero_code_spans(tmp_path, "on", disabled=f"{zero_code.PEERS},llmledger_anthropic")

    assert [s["name"] for s in spans] == ["anthropic.messages.create"] * 2
    assert all("gen_ai.usage.cost" not in s["attributes"] for s in spans)


@pytest.mark.parametrize("native", ["on", "off"])
def test_zero_code_under_opentelemetry_instrument_gives_one_costed_span_per_call(native, tmp_path):
    """`opentelemetry-instrument python app.py`: each call gives exactly one span with its cost: the SDK's own where
    the SDK traces itself, llmledger's where it does not."""
    if native == "on":
        needs_parameter(anthropic.Anthropic.__init__, "open_telemetry")  # the SDK's own tracing (anthropic 2)
    spans = _zero_code_spans(tmp_path, native)

    names = ["chat claude-3-opus-20240229", "chat claude-3-5-haiku-20241022"]
    assert [s["name"] for s in spans] == (["anthropic.messages.create"] * 2 if native == "on" else names)
    for span in spans:
        assert span["attributes"]["gen_ai.provider.name"] == "anthropic"
        assert span["attributes"]["llmledger.price.source"] == "genai-prices"
    # 17 × 15 + 220 × 75 = 16,755 µUSD (claude-3-opus); 17 × 0.80 + 108 × 4 = 445.6 µUSD (claude-3-5-haiku)
    costs = [s["attributes"]["gen_ai.usage.cost"] for s in spans]
    assert costs == pytest.approx([0.016755, 0.0004456], rel=1e-12)
