# SPDX-License-Identifier: Apache-2.0
"""A streamed `interactions.create` is one span whose usage is that of the interaction's completed hops.

No streamed interaction is recorded, so the stream is built from the recorded non-streamed one
(gemini-2.5-flash: 9 input, 13 output and 211 thought tokens) as the API streams it: `interaction.created`,
then `interaction.completed` carrying the usage. With automatic continuation the SDK sends one request per hop
and each hop's `interaction.completed` reports that hop only, so the span adds them up.
Price: gemini-2.5-flash 0.30 input / 2.50 output (thoughts included) per million tokens.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from google import genai

from tests.instrumentation.features import needs
from tests.instrumentation.google_genai import transport
from tests.instrumentation.openai.transport import recorded_json

RECORDED = recorded_json(
    "google_genai/openinference/google-genai/test_interactions_instrumentation/"
    "test_generate_interactions_simple_message[False].yaml",
    0,
)
MODEL = RECORDED["model"]
ONE_HOP = 0.0005627  # 9 × 0.30 + (13 + 211) × 2.50 = 562.7 µUSD


def _event(event_type: str, **interaction: object) -> str:
    payload = {"event_type": event_type, "interaction": {"id": RECORDED["id"], "model": MODEL, **interaction}}
    return f"event: {event_type}\ndata: {json.dumps(payload)}\n\n"


def _hop(status: str, **extra: object) -> bytes:
    created = _event("interaction.created", status="in_progress")
    return (created + _event("interaction.completed", status=status, usage=RECORDED["usage"], **extra)).encode()


class _Server:
    """Answers the n-th request with the n-th hop, and keeps what was asked."""

    def __init__(self, *hops: bytes) -> None:
        self.hops, self.requests = hops, []

    def __call__(self, request):
        self.requests.append(json.loads(request.content))
        return transport.sse(self.hops[len(self.requests) - 1])

    def client(self) -> genai.Client:
        client = transport.client(self)
        needs(client, "interactions")
        return client


def _create(client: genai.Client):
    return client.interactions.create(model=MODEL, input="Tell me a short joke about programming.", stream=True)


def test_a_streamed_interaction_read_to_the_end_has_the_completed_usage_and_cost(instrumented, span_exporter):
    events = list(_create(_Server(_hop("completed")).client()))

    (span,) = span_exporter.get_finished_spans()
    attrs = span.attributes
    assert [e.event_type for e in events] == ["interaction.created", "interaction.completed"]
    assert span.name == f"chat {MODEL}"
    assert attrs["gen_ai.request.stream"] is True
    assert attrs["gen_ai.response.id"] == RECORDED["id"]
    assert attrs["gen_ai.response.finish_reasons"] == ("completed",)
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (9, 224)
    assert attrs["gen_ai.usage.reasoning.output_tokens"] == 211
    assert attrs["llmledger.usage.complete"] is True
    assert attrs["gen_ai.usage.cost"] == pytest.approx(ONE_HOP, rel=1e-12)


def test_continuation_hops_add_up_in_one_span(instrumented, span_exporter):
    server = _Server(_hop("requires_continuation", continuation_token="next"), _hop("completed"))
    list(_create(server.client()))

    (span,) = span_exporter.get_finished_spans()
    attrs = span.attributes
    assert len(server.requests) == 2  # the SDK resumed once, inside the one call
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (18, 448)
    assert attrs["gen_ai.usage.cost"] == pytest.approx(2 * ONE_HOP, rel=1e-12)


def test_a_stream_closed_before_completion_is_incomplete_and_unpriced(instrumented, span_exporter):
    stream = _create(_Server(_hop("completed")).client())
    next(iter(stream))
    stream.close()

    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["llmledger.usage.complete"] is False
    assert "gen_ai.usage.cost" not in span.attributes
    assert "gen_ai.usage.input_tokens" not in span.attributes


def test_an_async_streamed_interaction(instrumented, span_exporter):
    async def run():
        stream = (
            await _Server(_hop("completed"))
            .client()
            .aio.interactions.create(model=MODEL, input="Tell me a short joke about programming.", stream=True)
        )
        return [event async for event in stream]

    assert len(asyncio.run(run())) == 2
    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["gen_ai.usage.cost"] == pytest.approx(ONE_HOP, rel=1e-12)
