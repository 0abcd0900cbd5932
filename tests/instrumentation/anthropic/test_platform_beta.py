# SPDX-License-Identifier: Apache-2.0
"""Anthropic's beta Messages on Amazon Bedrock and Google Vertex AI are recorded like the first-party ones.

Those clients' `beta.messages` classes copy the first-party beta methods when the SDK is imported, before any
instrumentor can wrap them; every call here goes through such a copy, sync and async, served a recorded body by
the SDK's real HTTP stack, and gets one span with its platform's price. Costs are worked out by hand from the
published prices (USD per million tokens, input / output): claude-3-haiku on Amazon Bedrock 0.25 / 1.25 ·
claude-3-7-sonnet on Vertex AI 3 / 15 · claude-3-5-haiku on Vertex AI 0.80 / 4.
"""

from __future__ import annotations

import asyncio

import pytest

from llmledger.instrumentation.anthropic import AnthropicInstrumentor
from tests.instrumentation.anthropic import transport
from tests.instrumentation.anthropic.transport import MESSAGES, STREAM, THINKING, recorded_json

# Recorded through `AsyncAnthropicBedrock().beta.messages.with_raw_response.create`: 17 tokens in, 158 out.
BEDROCK_BETA = (
    "bedrock/openllmetry/anthropic/test_bedrock_with_raw_response/test_async_anthropic_bedrock_beta_with_raw_response.yaml",
    0,
)
BEDROCK_MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
BEDROCK_COST = 0.00020175  # 17 × 0.25 + 158 × 1.25 = 4.25 + 197.5 = 201.75 µUSD
VERTEX_COST = 0.003381  # 52 × 3 + 215 × 15 = 156 + 3,225 = 3,381 µUSD (THINKING: claude-3-7-sonnet)


def _only_span(span_exporter):
    (span,) = span_exporter.get_finished_spans()
    return span.attributes


def _bedrock(asynchronous: bool):
    handler = transport.json_response(recorded_json(*BEDROCK_BETA))
    return transport.async_bedrock_client(handler) if asynchronous else transport.bedrock_client(handler)


def _vertex(asynchronous: bool):
    handler = transport.json_response(recorded_json(*THINKING))
    return transport.async_vertex_client(handler) if asynchronous else transport.vertex_client(handler)


def _create(client, asynchronous: bool, **kwargs):
    if not asynchronous:
        return client.beta.messages.create(**kwargs)

    async def run():
        try:
            return await client.beta.messages.create(**kwargs)
        finally:
            await client.close()

    return asyncio.run(run())


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_bedrock_beta_messages_get_a_span_priced_at_bedrock_prices(asynchronous, instrumented, span_exporter):
    message = _create(_bedrock(asynchronous), asynchronous, model=BEDROCK_MODEL, max_tokens=1024, messages=MESSAGES)

    attrs = _only_span(span_exporter)
    assert message.usage.output_tokens == 158  # the app got the recorded answer
    assert attrs["gen_ai.provider.name"] == "aws.bedrock"
    assert attrs["server.address"] == "bedrock-runtime.us-east-1.amazonaws.com"
    assert attrs["gen_ai.request.model"] == BEDROCK_MODEL
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (17, 158)
    assert attrs["gen_ai.usage.cost"] == pytest.approx(BEDROCK_COST, rel=1e-12)


def test_bedrock_beta_raw_response_as_the_recording_app_called_it(instrumented, span_exporter):
    client = _bedrock(asynchronous=True)

    async def run():
        try:
            raw = await client.beta.messages.with_raw_response.create(
                model=BEDROCK_MODEL, max_tokens=1024, messages=MESSAGES
            )
            return await raw.parse()
        finally:
            await client.close()

    message = asyncio.run(run())

    attrs = _only_span(span_exporter)
    assert message.model == "claude-3-haiku-20240307"
    assert attrs["gen_ai.provider.name"] == "aws.bedrock"
    assert attrs["gen_ai.usage.cost"] == pytest.approx(BEDROCK_COST, rel=1e-12)


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_vertex_beta_messages_get_a_span_priced_at_vertex_prices(asynchronous, instrumented, span_exporter):
    _create(_vertex(asynchronous), asynchronous, model="claude-3-7-sonnet@20250219", max_tokens=2048, messages=MESSAGES)

    attrs = _only_span(span_exporter)
    assert attrs["gen_ai.provider.name"] == "gcp.vertex_ai"
    assert attrs["server.address"] == "us-east5-aiplatform.googleapis.com"
    assert attrs["llmledger.price.model"] == "claude-3-7-sonnet"
    assert attrs["gen_ai.usage.cost"] == pytest.approx(VERTEX_COST, rel=1e-12)


def test_a_vertex_beta_stream_helper_is_recorded_once_read(instrumented, span_exporter):
    client = transport.vertex_client(transport.stream_response(STREAM))
    with client.beta.messages.stream(model="claude-3-5-haiku@20241022", max_tokens=1024, messages=MESSAGES) as stream:
        stream.get_final_message()

    attrs = _only_span(span_exporter)
    assert attrs["gen_ai.provider.name"] == "gcp.vertex_ai"
    assert attrs["gen_ai.request.stream"] is True
    assert attrs["gen_ai.usage.cost"] == pytest.approx(0.0004456, rel=1e-12)  # 17 × 0.80 + 108 × 4 = 445.6 µUSD


def test_uninstrument_restores_the_platform_copies(tracer_provider, span_exporter):
    from anthropic.lib.bedrock import _beta_messages as bedrock
    from anthropic.lib.vertex import _beta_messages as vertex
    from anthropic.resources.beta.messages import messages as first_party

    copies = (bedrock.Messages, bedrock.AsyncMessages, vertex.Messages, vertex.AsyncMessages)
    originals = [(cls, vars(cls)["create"], vars(cls)["stream"]) for cls in copies]
    assert all(create is vars(first_party.Messages)["create"] for cls, create, _ in originals[::2])
    instrumentor = AnthropicInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    assert all(vars(cls)["create"] is not create for cls, create, _ in originals)
    instrumentor.uninstrument()

    assert [(cls, vars(cls)["create"], vars(cls)["stream"]) for cls in copies] == originals
    _bedrock(asynchronous=False).beta.messages.create(model=BEDROCK_MODEL, max_tokens=1024, messages=MESSAGES)
    assert span_exporter.get_finished_spans() == ()
