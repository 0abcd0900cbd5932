# SPDX-License-Identifier: Apache-2.0
"""A model on one's own Ollama server has no price: unpriced, never $0, until the price file gives it one, and
then exactly that price per token, computed by hand here."""

from __future__ import annotations

import textwrap

import pytest

from llmledger._core import prices
from tests.instrumentation.ollama import transport
from tests.instrumentation.ollama.transport import CHAT, GEMMA, GENERATE_CACHED, MESSAGES


def _price_file(monkeypatch, tmp_path) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text(
        textwrap.dedent("""
        prices:
          - provider: ollama
            model: "llama3*"
            input: 0.02      # what the GPUs cost per million tokens
            output: 0.04
          - provider: ollama
            model: "gemma3:*"
            input: 0.10
            output: 0.10
        """)
    )
    monkeypatch.setenv("LLMLEDGER_PRICES_FILE", str(path))
    prices.reload()


def test_a_local_model_is_unpriced_never_free(instrumented, span_exporter):
    transport.client(transport.reply(CHAT)).chat("llama3", MESSAGES)

    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["llmledger.cost.unpriced"] is True
    assert not any(key.startswith("gen_ai.usage.cost") for key in span.attributes)
    assert (span.attributes["gen_ai.usage.input_tokens"], span.attributes["gen_ai.usage.output_tokens"]) == (17, 66)


def test_the_price_file_prices_a_local_model(monkeypatch, tmp_path, instrumented, span_exporter):
    _price_file(monkeypatch, tmp_path)
    transport.client(transport.reply(CHAT)).chat("llama3", MESSAGES)

    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["gen_ai.usage.cost"] == pytest.approx(0.00000298, rel=1e-12)  # 17 × 0.02 + 66 × 0.04
    assert span.attributes["llmledger.price.source"] == "override"
    assert span.attributes["llmledger.price.model"] == "llama3"


def test_a_model_name_with_a_tag_is_priced_by_its_pattern(monkeypatch, tmp_path, instrumented, span_exporter):
    _price_file(monkeypatch, tmp_path)
    transport.client(transport.reply(GEMMA)).chat("gemma3:1b", MESSAGES)

    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["gen_ai.usage.cost"] == pytest.approx(0.0000123, rel=1e-12)  # (19 + 104) × 0.10


def test_a_prompt_served_from_ollamas_cache_is_priced_by_its_output_alone(
    monkeypatch, tmp_path, instrumented, span_exporter
):
    _price_file(monkeypatch, tmp_path)
    transport.client(transport.reply(GENERATE_CACHED)).generate("llama3", "Tell me a joke about OpenTelemetry")

    (span,) = span_exporter.get_finished_spans()
    assert "gen_ai.usage.input_tokens" not in span.attributes  # Ollama evaluated no prompt token
    assert "llmledger.cost.input" not in span.attributes
    assert span.attributes["gen_ai.usage.cost"] == pytest.approx(0.00000152, rel=1e-12)  # 38 × 0.04
