# SPDX-License-Identifier: Apache-2.0
"""The provider behind an OpenAI SDK client is told by its base URL."""

from __future__ import annotations

import openai
import pytest

from llmledger.instrumentation._shared.config import Config
from llmledger.instrumentation.openai._targets import REFUSES_STREAM_OPTIONS, Locator


@pytest.mark.parametrize(
    ("base_url", "provider"),
    [
        ("https://api.openai.com/v1", "openai"),
        ("https://my-resource.openai.azure.com/openai/deployments/gpt4o", "azure.ai.openai"),
        ("https://api.groq.com/openai/v1", "groq"),
        ("https://api.deepseek.com", "deepseek"),
        ("https://api.together.xyz/v1", "together"),
        ("https://openrouter.ai/api/v1", "openrouter"),
        ("http://localhost:8000/v1", "vllm"),
        ("http://127.0.0.1:11434/v1", "ollama"),
        ("https://llm.internal.example/v1", "openai_compatible"),
    ],
)
def test_provider_by_base_url(base_url, provider):
    resource = openai.OpenAI(api_key="test", base_url=base_url).chat.completions
    assert Locator(Config())(resource).provider == provider


def test_a_gateway_can_be_named(monkeypatch):
    config = Config.from_env({"LLMLEDGER_PROVIDER_HOSTS": "gateway.internal=openai, 127.0.0.1:9999=anthropic"})
    locate = Locator(config)
    assert locate(openai.OpenAI(api_key="t", base_url="https://gateway.internal/v1").embeddings).provider == "openai"
    assert locate(openai.OpenAI(api_key="t", base_url="http://127.0.0.1:9999").embeddings).provider == "anthropic"


@pytest.mark.parametrize(
    ("base_url", "asked"),
    [
        ("https://api.openai.com/v1", True),
        ("https://api.groq.com/openai/v1", True),
        ("https://llm-gateway.internal.example/v1", True),  # a host llmledger does not know is asked too
        ("http://127.0.0.1:4000/v1", True),  # a local proxy
        ("https://api.mistral.ai/v1", False),
        ("https://api.perplexity.ai", False),
    ],
)
def test_every_host_is_asked_for_stream_usage_unless_known_to_refuse_it(base_url, asked):
    resource = openai.OpenAI(api_key="test", base_url=base_url).chat.completions
    target = Locator(Config())(resource)
    assert target.accepts_stream_options is asked
    assert (target.provider in REFUSES_STREAM_OPTIONS) is not asked


def test_each_host_that_refuses_stream_options_says_why():
    assert REFUSES_STREAM_OPTIONS
    assert all(len(reason) > 20 for reason in REFUSES_STREAM_OPTIONS.values())


@pytest.mark.parametrize(("value", "setting"), [("", None), ("auto", None), ("true", True), ("0", False)])
def test_the_include_usage_variable_leaves_it_to_the_host_or_forces_it(value, setting):
    assert Config.from_env({"LLMLEDGER_OPENAI_INCLUDE_USAGE": value}).include_usage is setting
