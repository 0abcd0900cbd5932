# SPDX-License-Identifier: Apache-2.0
"""Calls through `mistralai` cost what Mistral charges: genai-prices' Mistral rates, computed by hand here."""

from __future__ import annotations

import asyncio

import pytest

from tests.instrumentation.mistral import transport
from tests.instrumentation.mistral.transport import CHAT, CHAT_STREAM, EMBED, MESSAGES
from tests.instrumentation.openai.transport import recorded_json


def _cost(span_exporter) -> float:
    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["gen_ai.provider.name"] == "mistral_ai"
    return span.attributes["gen_ai.usage.cost"]


def test_chat_at_mistral_tiny_rates(instrumented, span_exporter):
    transport.client(transport.reply(CHAT)).chat.complete(model="mistral-tiny", messages=MESSAGES)

    assert _cost(span_exporter) == pytest.approx(0.00002675, rel=1e-12)  # (11 + 96) × $0.25/M


def test_a_stream_at_mistral_tiny_rates(instrumented, span_exporter):
    list(transport.client(transport.sse(CHAT_STREAM)).chat.stream(model="mistral-tiny", messages=MESSAGES))

    assert _cost(span_exporter) == pytest.approx(0.00002275, rel=1e-12)  # (11 + 80) × $0.25/M


def test_embeddings_at_mistral_embed_rates(instrumented, span_exporter):
    transport.client(transport.reply(EMBED)).embeddings.create(model="mistral-embed", inputs=["a", "b"])

    assert _cost(span_exporter) == pytest.approx(0.0000021, rel=1e-12)  # 21 × $0.10/M


def test_fim_at_codestral_rates(instrumented, span_exporter):
    body = recorded_json(*CHAT)
    body["model"] = "codestral-latest"
    body["usage"] = {"prompt_tokens": 20, "completion_tokens": 50, "total_tokens": 70}
    client = transport.client(lambda request: transport.http.Response(200, json=body))
    client.fim.complete(model="codestral-latest", prompt="def fib(n):", suffix="return fib(n - 1)")

    assert _cost(span_exporter) == pytest.approx(0.000051, rel=1e-12)  # 20 × $0.30/M + 50 × $0.90/M


def test_cached_prompt_tokens_are_priced_as_cache_reads(instrumented, span_exporter):
    body = recorded_json(*CHAT)
    body["model"] = "mistral-medium-2508"
    body["usage"] = {
        "prompt_tokens": 1000,
        "completion_tokens": 100,
        "total_tokens": 1100,
        "prompt_tokens_details": {"cached_tokens": 800},
    }
    client = transport.client(lambda request: transport.http.Response(200, json=body))
    client.chat.complete(model="mistral-medium-2508", messages=MESSAGES)

    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["gen_ai.usage.cache_read.input_tokens"] == 800
    # 200 uncached × $0.40/M + 800 cached × $0.04/M + 100 out × $2/M = 80 + 32 + 200 µ$
    assert _cost(span_exporter) == pytest.approx(0.000312, rel=1e-12)


def test_async_fim_at_codestral_rates(instrumented, span_exporter):
    body = recorded_json(*CHAT)
    body["model"] = "codestral-2508"
    body["usage"] = {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110}
    client = transport.client(lambda request: transport.http.Response(200, json=body))
    asyncio.run(client.fim.complete_async(model="codestral-2508", prompt="def fib(n):", suffix="return n"))

    (span,) = span_exporter.get_finished_spans()
    assert span.name == "text_completion codestral-2508"
    assert _cost(span_exporter) == pytest.approx(0.000039, rel=1e-12)  # 100 × $0.30/M + 10 × $0.90/M
