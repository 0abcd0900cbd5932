# SPDX-License-Identifier: Apache-2.0
"""Every interaction recorded through the OpenAI SDK, replayed through the installed SDK's real HTTP stack.

For each one, the span's usage equals what the provider reported (expected.jsonl); streams recorded without
usage end flagged incomplete; error responses reach the app unchanged and mark the span.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any
from urllib.parse import parse_qs, urlsplit

import openai
import pytest
import vcr
from llmledger.instrumentation.openai import OpenAIInstrumentor

from tests.cassette_replay import CASSETTES, expected, files_for, interactions, request_json

PROVIDERS = ("openai", "azure_openai", "deepseek", "vllm", "groq", "together")
ENDPOINTS = ("chat.completions", "completions", "embeddings", "responses")
_SUFFIXES = {
    "chat.completions": "/chat/completions",
    "completions": "/completions",
    "embeddings": "/embeddings",
    "responses": "/responses",
}
_PROVIDER_NAMES = {
    "openai": "openai",
    "azure_openai": "azure.ai.openai",
    "deepseek": "deepseek",
    "vllm": "vllm",
    "groq": "groq",
    "together": "together",
}


@pytest.fixture
def instrumented(tracer_provider, meter_provider):
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    yield
    instrumentor.uninstrument()


def _client(uri: str, endpoint: str, asynchronous: bool) -> Any:
    parts = urlsplit(uri)
    base = uri.split("?")[0][: -len(_SUFFIXES[endpoint])]
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    if ".openai.azure.com" in parts.netloc:
        cls = openai.AsyncAzureOpenAI if asynchronous else openai.AzureOpenAI
        return cls(base_url=base, api_version=query.get("api-version", "2024-02-01"), api_key="test", max_retries=0)
    cls = openai.AsyncOpenAI if asynchronous else openai.OpenAI
    return cls(base_url=base, api_key="test", max_retries=0, default_query=query or None)


def _method(client: Any, endpoint: str) -> Any:
    return {
        "chat.completions": lambda: client.chat.completions.create,
        "completions": lambda: client.completions.create,
        "embeddings": lambda: client.embeddings.create,
        "responses": lambda: client.responses.create,
    }[endpoint]()


def _kwargs(method: Any, body: dict[str, Any]) -> dict[str, Any]:
    accepted = set(inspect.signature(method).parameters)
    kwargs = {k: v for k, v in body.items() if k in accepted}
    extra = {k: v for k, v in body.items() if k not in accepted}
    if extra:
        kwargs["extra_body"] = extra
    return kwargs


def _call(row: dict[str, Any], interaction: dict[str, Any]) -> None:
    """Make the recorded request through the SDK, reading a stream to its end, like an app would."""
    body = request_json(interaction)
    asynchronous = "async" in row["file"].rsplit("/", 1)[-1]
    client = _client(interaction["request"]["uri"], row["endpoint"], asynchronous)
    method = _method(client, row["endpoint"])
    kwargs = _kwargs(method, body)

    if asynchronous:

        async def run() -> None:
            result = await method(**kwargs)
            if body.get("stream"):
                async for _ in result:
                    pass
            await client.close()

        asyncio.run(run())
    else:
        result = method(**kwargs)
        if body.get("stream"):
            for _ in result:
                pass
        client.close()


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
    with vcr.use_cassette(
        str(CASSETTES / file), record_mode="none", match_on=["method", "scheme", "host", "port", "path"]
    ):
        for row in rows:
            span_exporter.clear()
            interaction = recorded[row["interaction_index"]]
            if row["status"] >= 400:
                with pytest.raises(openai.APIStatusError) as raised:
                    _call(row, interaction)
                assert raised.value.status_code == row["status"]
            else:
                _call(row, interaction)

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
