# SPDX-License-Identifier: Apache-2.0
"""Every interaction recorded through the OpenAI SDK, replayed through the installed SDK's real HTTP stack.

For each one, the span's usage equals what the provider reported (expected.jsonl); streams recorded without
usage end flagged incomplete; error responses reach the app unchanged and mark the span.
"""

from __future__ import annotations

import openai
import pytest

from tests.cassette_replay import expected, files_for, interactions
from tests.instrumentation.openai.sdk_calls import call, cassette

PROVIDERS = ("openai", "azure_openai", "deepseek", "vllm", "groq", "together")
ENDPOINTS = ("chat.completions", "completions", "embeddings", "responses")
_PROVIDER_NAMES = {
    "openai": "openai",
    "azure_openai": "azure.ai.openai",
    "deepseek": "deepseek",
    "vllm": "vllm",
    "groq": "groq",
    "together": "together",
}


_USAGE_KEYS = {
    "input_tokens": "gen_ai.usage.input_tokens",
    "output_tokens": "gen_ai.usage.output_tokens",
    "cache_read_input_tokens": "gen_ai.usage.cache_read.input_tokens",
    "reasoning_tokens": "gen_ai.usage.reasoning.output_tokens",
}


@pytest.mark.parametrize("file", files_for(PROVIDERS, ENDPOINTS))
def test_span_usage_equals_what_the_provider_reported(file, instrumented, span_exporter):
    rows = [r for r in expected()[file] if r["endpoint"] in ENDPOINTS]
    recorded = interactions(file)
    with cassette(file):
        for row in rows:
            span_exporter.clear()
            interaction = recorded[row["interaction_index"]]
            if row["status"] >= 400:
                with pytest.raises(openai.APIStatusError) as raised:
                    call(row, interaction)
                assert raised.value.status_code == row["status"]
            else:
                call(row, interaction)

            (span,) = span_exporter.get_finished_spans()
            attrs = span.attributes
            assert attrs["gen_ai.provider.name"] == _PROVIDER_NAMES[row["provider"]]
            if row["status"] >= 400:
                assert attrs["error.type"] == type(raised.value).__qualname__
                assert span.status.status_code.name == "ERROR"
                continue
            if row["normalized"] is None:
                assert attrs["llmledger.usage.complete"] is False
                assert "gen_ai.usage.input_tokens" not in attrs
                assert "gen_ai.usage.cost" not in attrs
                continue
            for key, attribute in _USAGE_KEYS.items():
                if key in row["normalized"]:
                    assert attrs[attribute] == row["normalized"][key], (file, row["interaction_index"], key)
            if row["streaming"]:
                assert attrs["llmledger.usage.complete"] is True
            assert ("gen_ai.usage.cost" in attrs) != bool(attrs.get("llmledger.cost.unpriced")), (
                "every call with usage is either priced or flagged unpriced"
            )
