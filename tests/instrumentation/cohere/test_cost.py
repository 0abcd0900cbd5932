# SPDX-License-Identifier: Apache-2.0
"""Cohere calls cost what Cohere bills: billed units at genai-prices' Cohere rates, computed by hand here.

The recorded responses bill fewer tokens than they count (Cohere counts the tokens of its own prompt template
and does not bill them), so each literal below also shows which of the two was priced.
"""

from __future__ import annotations

import json
import textwrap

import pytest

from llmledger._core import prices
from tests.instrumentation.cohere import transport
from tests.instrumentation.cohere.transport import CHAT, RERANK_V2, TOOLS_V2, TOOLS_V2_R7B
from tests.instrumentation.openai.transport import recorded_json


def _cost(span) -> float:
    return span.attributes["gen_ai.usage.cost"]


def test_v1_chat_is_priced_by_billed_tokens_not_counted_ones(instrumented, span_exporter):
    # command at $1 / $2 per million: billed 58 in and 119 out (counted: 69 in).
    transport.client(transport.reply(CHAT)).chat(model="command", message="Tell me a joke, pirate style")

    (span,) = span_exporter.get_finished_spans()
    assert _cost(span) == pytest.approx(0.000296, rel=1e-12)  # 58 × 1 + 119 × 2 = 296 µ$; counted would be 307
    assert span.attributes["llmledger.cost.input"] == pytest.approx(0.000058, rel=1e-12)
    assert span.attributes["llmledger.price.source"] == "genai-prices"


def test_v2_chat_with_tools_at_command_r_rates(instrumented, span_exporter):
    # command-r at $0.15 / $0.60 per million: billed 62 in, 28 out (counted: 968 in, 83 out).
    request = json.loads(transport.interactions_body(TOOLS_V2))
    transport.client(transport.reply(TOOLS_V2), v2=True).chat(
        model="command-r", messages=request["messages"], tools=request["tools"]
    )

    (span,) = span_exporter.get_finished_spans()
    assert _cost(span) == pytest.approx(0.0000261, rel=1e-12)  # 62 × 0.15 + 28 × 0.60 = 9.3 + 16.8 = 26.1 µ$


def test_v2_chat_at_command_r7b_rates(instrumented, span_exporter):
    # command-r7b-12-2024 at $0.0375 / $0.15 per million: billed 62 in, 38 out.
    request = json.loads(transport.interactions_body(TOOLS_V2_R7B))
    transport.client(transport.reply(TOOLS_V2_R7B), v2=True).chat(
        model="command-r7b-12-2024", messages=request["messages"], tools=request["tools"]
    )

    (span,) = span_exporter.get_finished_spans()
    assert _cost(span) == pytest.approx(0.000008025, rel=1e-12)  # 62 × 0.0375 + 38 × 0.15 = 2.325 + 5.7 µ$


def _search_price(monkeypatch, tmp_path, per_search: str) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text(
        textwrap.dedent(f"""
        prices:
          - provider: cohere
            model: "rerank-*"
            search_unit: {per_search}
        """)
    )
    monkeypatch.setenv("LLMLEDGER_PRICES_FILE", str(path))
    prices.reload()


def test_a_rerank_is_priced_per_search_by_the_price_file(monkeypatch, tmp_path, instrumented, span_exporter):
    _search_price(monkeypatch, tmp_path, "0.002")  # $2 per 1,000 searches
    transport.client(transport.reply(RERANK_V2), v2=True).rerank(
        model="rerank-english-v3.0", query="What is the capital of the United States?", documents=["a", "b"]
    )

    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["llmledger.usage.search_units"] == 1
    assert _cost(span) == pytest.approx(0.002, rel=1e-12)
    assert span.attributes["llmledger.cost.search_units"] == pytest.approx(0.002, rel=1e-12)
    assert span.attributes["llmledger.price.source"] == "override"
    assert "gen_ai.usage.input_tokens" not in span.attributes


def test_a_rerank_of_several_searches_costs_each(monkeypatch, tmp_path, instrumented, span_exporter):
    _search_price(monkeypatch, tmp_path, "0.0025")
    body = recorded_json(*RERANK_V2)
    body["meta"]["billed_units"]["search_units"] = 3  # over 200 documents: three searches
    handler = lambda request: transport.httpx.Response(200, json=body)  # noqa: E731
    transport.client(handler, v2=True).rerank(model="rerank-v3.5", query="q", documents=["a"] * 201)

    (span,) = span_exporter.get_finished_spans()
    assert _cost(span) == pytest.approx(0.0075, rel=1e-12)  # 3 × 0.0025


def test_a_rerank_without_a_price_per_search_is_unpriced_never_free(instrumented, span_exporter):
    transport.client(transport.reply(RERANK_V2), v2=True).rerank(
        model="rerank-english-v3.0", query="q", documents=["a", "b"]
    )

    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["llmledger.cost.unpriced"] is True
    assert not any(key.startswith("gen_ai.usage.cost") for key in span.attributes)


def test_a_token_price_that_matches_a_rerank_model_does_not_price_its_searches(
    monkeypatch, tmp_path, instrumented, span_exporter
):
    path = tmp_path / "prices.yaml"
    path.write_text('prices:\n  - {provider: cohere, model: "*", input: 1, output: 2}\n')
    monkeypatch.setenv("LLMLEDGER_PRICES_FILE", str(path))
    prices.reload()
    transport.client(transport.reply(RERANK_V2), v2=True).rerank(
        model="rerank-english-v3.0", query="q", documents=["a", "b"]
    )

    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["llmledger.cost.unpriced"] is True


def test_a_model_without_a_price_is_unpriced(instrumented, span_exporter):
    transport.client(transport.reply(CHAT)).chat(model="command-nightly-private", message="hi")

    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["llmledger.cost.unpriced"] is True
    assert span.attributes["gen_ai.usage.input_tokens"] == 58


def test_counted_tokens_stand_in_when_nothing_was_billed_in_tokens(instrumented, span_exporter):
    body = recorded_json(*CHAT)
    del body["meta"]["billed_units"]
    transport.client(lambda request: transport.httpx.Response(200, json=body)).chat(model="command", message="hi")

    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["gen_ai.usage.input_tokens"] == 69
    assert _cost(span) == pytest.approx(0.000307, rel=1e-12)  # 69 × 1 + 119 × 2
