# SPDX-License-Identifier: Apache-2.0
"""The real OpenAI SDK, instrumented, talking to the loopback replay server (demo/replay_server.py)."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

from demo.replay_server import ReplayServer
from llmledger.instrumentation.openai import OpenAIInstrumentor
from tests.instrumentation.instrumenting import instrumenting

CHAT = "openai/otel-contrib/openai-v2/test_chat_completion_with_content.yaml"  # gpt-4o-mini, 12 in / 5 out
STREAM = "openai/otel-contrib/openai-v2/test_chat_completion_streaming.yaml"  # gpt-4, 12 in / 5 out
QUESTION = [{"role": "user", "content": "Say this is a test"}]


@pytest.fixture
def replay(request) -> Iterator[ReplayServer]:
    """Serves CHAT and STREAM, or the cassettes a test passes with `parametrize("replay", [...], indirect=True)`."""
    with ReplayServer(getattr(request, "param", (CHAT, STREAM))) as server:
        yield server


@pytest.fixture
def replay_openai(monkeypatch, replay, tracer_provider, meter_provider) -> Iterator[OpenAIInstrumentor]:
    """The OpenAI instrumentor, with the replay server's address named as OpenAI (so calls are priced as such)."""
    monkeypatch.setenv("LLMLEDGER_PROVIDER_HOSTS", f"{replay.url.split('//')[1]}=openai")
    with instrumenting(OpenAIInstrumentor, tracer_provider, meter_provider) as instrumentor:
        yield instrumentor


@pytest.fixture
def replay_client(replay, replay_openai) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(api_key="test", base_url=f"{replay.url}/v1", max_retries=0) as sdk:
        yield sdk


@pytest.fixture
def replay_async_client(replay, replay_openai) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(api_key="test", base_url=f"{replay.url}/v1", max_retries=0)
