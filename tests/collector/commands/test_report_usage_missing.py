# SPDX-License-Identifier: Apache-2.0
"""`llmledger report` tells calls whose usage never arrived apart from calls of models nobody prices.

A stream that ended before its usage chunk (`llmledger.usage.complete = false`) is stored unpriced, whatever its
model: its tokens are unknown. The report lists such calls as "usage missing", by provider and host, and never
among the unpriced models, for which it advises a price file that could not help them.
"""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from time import time_ns

import pytest

from llmledger.collector.exporters.clickhouse.writer import insert_llm_calls
from llmledger.collector.llm_calls import LlmCall

_HOUR_NS = 3600 * 10**9


def _call(index: int, tenant: str, provider: str, model: str, **fields: object) -> LlmCall:
    return replace(
        LlmCall(
            timestamp_ns=time_ns() - _HOUR_NS - index * 1_000_000,
            trace_id=f"{index + 1:032x}",
            span_id=f"{index + 1:016x}",
            tenant=tenant,
            service_name="chat-app",
            provider=provider,
            operation="chat",
            request_model=model,
            response_model=model,
        ),
        **fields,
    )


def _stream_without_usage(index: int, tenant: str, provider: str, model: str, host: str = "") -> LlmCall:
    return _call(
        index, tenant, provider, model, is_streaming=True, usage_complete=False,
        attributes={"server.address": host} if host else {},
    )  # fmt: skip


def _priced(index: int, tenant: str) -> LlmCall:
    return _call(
        index, tenant, "openai", "gpt-4o-mini", input_tokens=1000, output_tokens=100, priced_model="gpt-4o-mini",
        input_cost=Decimal("0.00015"), output_cost=Decimal("0.00006"), total_cost=Decimal("0.00021"),
        cost_source="instrumentation",
    )  # fmt: skip


@pytest.fixture(scope="module")
def loaded(client):
    calls = [
        # tenant "both": a priced call, two OpenAI streams and a gateway's stream without usage, an unpriced model
        _priced(0, "both"),
        _stream_without_usage(1, "both", "openai", "gpt-4o-mini"),
        _stream_without_usage(2, "both", "openai", "gpt-4o-mini"),
        _stream_without_usage(3, "both", "openai_compatible", "llama-3.1-8b", host="gateway.internal"),
        _call(4, "both", "vllm", "llama-local", input_tokens=500, output_tokens=50),
        # tenant "streams": usage missing only, on a model that has a price
        _priced(5, "streams"),
        _stream_without_usage(6, "streams", "openai", "gpt-4o-mini"),
    ]
    insert_llm_calls(client, calls, deduplication_token="usage-missing")
    return calls


def _section(report: str, title: str) -> list[str]:
    lines = report.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].strip()), len(lines))
    return lines[start:end]


def test_streams_without_usage_are_listed_by_provider_and_host_apart_from_unpriced_models(cli, loaded):
    result = cli("report", "--tenant", "both")

    assert result.returncode == 0, result.stderr
    unpriced = _section(result.stdout, "Unpriced calls")
    assert unpriced[0].startswith("Unpriced calls: 1 calls have no known price")
    assert [line.split()[:5] for line in unpriced[2:-1]] == [["vllm", "llama-local", "1", "500", "50"]]
    assert "LLMLEDGER_PRICES_FILE" in unpriced[-1]
    missing = _section(result.stdout, "Usage missing")
    assert missing[0].startswith("Usage missing on 3 streams: they ended without reporting usage")
    assert [line.split() for line in missing[2:-1]] == [
        ["openai", "-", "2", "2", "gpt-4o-mini"],
        ["openai_compatible", "gateway.internal", "1", "1", "llama-3.1-8b"],
    ]
    assert "LLMLEDGER_PRICES_FILE" not in "\n".join(missing)


def test_a_priced_model_whose_streams_had_no_usage_gets_no_price_file_advice(cli, loaded):
    result = cli("report", "--tenant", "streams")

    assert result.returncode == 0, result.stderr
    assert "\nUnpriced calls: none" in result.stdout
    assert "LLMLEDGER_PRICES_FILE" not in result.stdout.replace("LLMLEDGER_OPENAI_INCLUDE_USAGE", "")
    assert _section(result.stdout, "Usage missing")[0].startswith("Usage missing on 1 streams")


def test_json_counts_both_apart(cli, loaded):
    result = cli("report", "--tenant", "both", "--format", "json")

    document = json.loads(result.stdout)
    assert (document["total"]["unpriced_calls"], document["total"]["usage_missing_calls"]) == (1, 3)
    assert [row["model"] for row in document["unpriced"]] == ["llama-local"]
    assert document["usage_missing"] == [
        {"provider": "openai", "server": "", "calls": 2, "streams": 2, "models": ["gpt-4o-mini"]},
        {
            "provider": "openai_compatible",
            "server": "gateway.internal",
            "calls": 1,
            "streams": 1,
            "models": ["llama-3.1-8b"],
        },
    ]


def test_the_wasted_spend_query_counts_them_apart_too(cli, loaded):
    result = cli("sql", "--query", "wasted_spend", "-p", "tenant=both", "-f", "json")

    assert result.returncode == 0, result.stderr
    rows = {(row["provider"], row["model"]): row for row in json.loads(result.stdout)}
    assert {key: (row["unpriced_calls"], row["usage_missing_calls"]) for key, row in rows.items()} == {
        ("vllm", "llama-local"): (1, 0),
        ("openai", "gpt-4o-mini"): (0, 2),
        ("openai_compatible", "llama-3.1-8b"): (0, 1),
    }
