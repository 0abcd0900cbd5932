# SPDX-License-Identifier: Apache-2.0
"""Apps on real frameworks, run as users run them (`opentelemetry-instrument python app.py`, llmledger's
instrumentations loaded by their entry points), against a loopback server answering from recorded OpenAI traffic,
exporting to a running collector: two provider calls give exactly two rows in llm_calls, with the provider's tokens
and the right cost, whether the framework's own tracing is on (its spans are then folded into the rows, and listed
in llm_call_spans) or off, and from LiteLLM's own spans alone when llmledger's LiteLLM instrumentation is off.

The recording (OpenLLMetry's prompt-caching cassette) answers gpt-4o-mini twice: 1149 input tokens and 315 output,
then 1149 input of which 1024 read from the cache and 353 output. At 0.15 / 0.075 / 0.6 USD per million tokens
(input, cache read, output) they cost 0.00036135 and 0.00030735 USD.

The frameworks run in their own environment (`environment.py`), built on the first run.
"""

from __future__ import annotations

import os
import subprocess
import textwrap
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.collector.running import start_collector

from .environment import framework_python
from .replay_server import ReplayServer

CASSETTE = "openai/openllmetry/openai/traces/test_prompt_caching/test_openai_prompt_caching.yaml"
CALLS = [  # (input, cache read, output, total cost) of the two recorded calls
    (1149, 0, 315, Decimal("0.000361350000")),
    (1149, 1024, 353, Decimal("0.000307350000")),
]
QUESTIONS = 'for question in ("What is prompt caching?", "And how long is a cached prompt kept?"):'

APPS: dict[str, str] = {
    "pydantic_ai": f"""
        import os
        from pydantic_ai import Agent
        from pydantic_ai.models.openai import OpenAIChatModel
        from pydantic_ai.providers.openai import OpenAIProvider

        if os.environ["FRAMEWORK_TRACING"] == "on":
            Agent.instrument_all()
        provider = OpenAIProvider(base_url=os.environ["OPENAI_BASE_URL"], api_key="test")
        agent = Agent(OpenAIChatModel("gpt-4o-mini", provider=provider))
        {QUESTIONS}
            agent.run_sync(question)
    """,
    "langchain": f"""
        from langchain_openai import ChatOpenAI

        llm = ChatOpenAI(model="gpt-4o-mini")
        {QUESTIONS}
            llm.invoke(question)
    """,
    "litellm": f"""
        import os
        import litellm

        if os.environ["FRAMEWORK_TRACING"] == "on":
            litellm.callbacks = ["otel"]
        {QUESTIONS}
            litellm.completion(
                model="openai/gpt-4o-mini",
                messages=[{{"role": "user", "content": question}}],
                api_base=os.environ["OPENAI_BASE_URL"],
                api_key="test",
            )
    """,
    "openai_agents": f"""
        from agents import Agent, Runner, set_default_openai_api, set_tracing_disabled

        set_default_openai_api("chat_completions")
        set_tracing_disabled(True)  # its own tracing exports to OpenAI's platform
        agent = Agent(name="support", instructions="Answer briefly.", model="gpt-4o-mini")
        {QUESTIONS}
            Runner.run_sync(agent, question)
    """,
    "llama_index": f"""
        import os
        from llama_index.llms.openai import OpenAI

        llm = OpenAI(model="gpt-4o-mini", api_base=os.environ["OPENAI_BASE_URL"], api_key="test")
        {QUESTIONS}
            llm.complete(question)
    """,
}
# The framework's own tracing switched on, where it has one that exports OTel spans beside llmledger's.
TRACING_ENV = {
    "langchain": {"LANGSMITH_TRACING": "true", "LANGSMITH_OTEL_ENABLED": "true", "LANGSMITH_OTEL_ONLY": "true"},
}
CASES = [
    ("pydantic_ai", "off"),
    ("pydantic_ai", "on"),
    ("langchain", "off"),
    ("langchain", "on"),
    ("litellm", "off"),
    ("litellm", "on"),
    ("litellm", "alone"),  # its callback's spans without llmledger_litellm: the collector reads LiteLLM's own
    ("openai_agents", "off"),
    ("llama_index", "off"),
]
# The framework's own LLM spans of each call with its tracing on, each folded into llmledger's row of the call.
# LiteLLM's callback makes none beside llmledger's: it writes its attributes on the current span (llmledger's).
FOLDED_WHEN_ON = {"pydantic_ai": len(CALLS), "langchain": len(CALLS), "litellm": 0}


@pytest.fixture(scope="module")
def python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return framework_python(tmp_path_factory.mktemp("wheels"))


@pytest.fixture(scope="module")
def collector(clickhouse: Any) -> Any:
    database = f"frameworks_{uuid.uuid4().hex[:8]}"
    running = start_collector(["--clickhouse-url", clickhouse.url, "--database", database, "--flush-interval", "0.2"])
    running.database = database  # type: ignore[attr-defined]
    yield running
    assert running.stop() == 0, running.text
    clickhouse.client.command(f"DROP DATABASE IF EXISTS {database} SYNC")


@pytest.mark.parametrize(("framework", "tracing"), CASES, ids=[f"{f}-tracing-{t}" for f, t in CASES])
def test_two_calls_are_two_rows_with_the_providers_tokens_and_cost(
    framework: str, tracing: str, python: Path, collector: Any, clickhouse: Any, tmp_path: Path
) -> None:
    service = f"{framework}-{tracing}-{uuid.uuid4().hex[:6]}"
    with ReplayServer(CASSETTE, len(CALLS)) as server:
        _run(python, APPS[framework], tmp_path, service, server.base_url, collector, tracing, framework)
        assert len(server.requests) == len(CALLS)
        ids = server.response_ids()
    client = clickhouse.connect(collector.database)
    rows = _rows_when_stored(client, service)
    assert [row[0] for row in rows] == ids, _explain(client, collector)
    # The provider's tokens and cost, also where a framework's worse record of a call (LangSmith's export, without
    # the cached tokens) arrived first: the row then took llmledger's, and the rollups moved with it.
    assert [row[1:] for row in rows] == CALLS
    assert _rolled_up(client, service) == (
        len(CALLS),
        sum(call[0] for call in CALLS),
        sum(call[1] for call in CALLS),
        sum(call[2] for call in CALLS),
        sum(call[3] for call in CALLS),
    )
    # With its tracing on, the framework's span of each call is there, folded into the call's row.
    folded = client.query(
        "SELECT KeptSpanId, Reason FROM llm_call_spans FINAL WHERE CallKey IN {ids:Array(String)}", {"ids": ids}
    ).result_rows
    assert len(folded) == (FOLDED_WHEN_ON[framework] if tracing == "on" else 0), folded


def _run(
    python: Path, source: str, tmp_path: Path, service: str, base_url: str, collector: Any, tracing: str, name: str
) -> None:
    app = tmp_path / "app.py"
    app.write_text(textwrap.dedent(source))
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith(("OTEL_", "LLMLEDGER_", "LANG"))},
        "OTEL_SERVICE_NAME": service,
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{collector.http_port}",
        "OPENAI_BASE_URL": base_url,
        "OPENAI_API_KEY": "test",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # no fetch of LiteLLM's price map from the network
        "FRAMEWORK_TRACING": "off" if tracing == "off" else "on",
        **(TRACING_ENV.get(name, {}) if tracing == "on" else {}),
        **({"OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": f"llmledger_{name}"} if tracing == "alone" else {}),
    }
    done = subprocess.run(
        [str(python.parent / "opentelemetry-instrument"), str(python), str(app)],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        cwd=tmp_path,  # opentelemetry-instrument puts the working directory first on the path, as an app's own
    )
    assert done.returncode == 0, done.stderr


def _rows_when_stored(client: Any, service: str) -> list[tuple[Any, ...]]:
    """The service's rows once as many as calls are stored and a moment has passed without another (a second row
    of one call would come in the same export, or the next)."""
    query = (
        "SELECT CallKey, InputTokens, CacheReadInputTokens, OutputTokens, TotalCost FROM llm_calls FINAL"
        " WHERE ServiceName = {s:String} ORDER BY Timestamp"
    )
    deadline = time.monotonic() + 30
    rows: list[tuple[Any, ...]] = []
    while time.monotonic() < deadline and len(rows) < len(CALLS):
        time.sleep(0.2)
        rows = client.query(query, {"s": service}).result_rows
    time.sleep(1.0)
    return client.query(query, {"s": service}).result_rows


def _explain(client: Any, collector: Any) -> str:
    """What the collector stored and said, for a failure's message."""
    calls = client.query("SELECT ServiceName, SpanName, CallKey, CostSource FROM llm_calls FINAL").result_rows
    folded = client.query("SELECT ServiceName, SpanName, CallKey, Reason FROM llm_call_spans FINAL").result_rows
    return f"llm_calls: {calls}\nllm_call_spans: {folded}\n{collector.text}"


def _rolled_up(client: Any, service: str) -> tuple[int, int, int, int, Decimal]:
    """Calls, input, cache read and output tokens, and cost of `service` in the hourly rollup."""
    query = (
        "SELECT sum(Calls), sum(InputTokens), sum(CacheReadInputTokens), sum(OutputTokens), sum(TotalCost)"
        " FROM llm_usage_hourly WHERE ServiceName = {s:String}"
    )
    calls, inputs, cached, outputs, cost = client.query(query, {"s": service}).result_rows[0]
    return int(calls), int(inputs), int(cached), int(outputs), Decimal(cost)


STREAM = "openai/otel-contrib/openai-v2/test_chat_completion_streaming.yaml"  # gpt-4: 12 in, 5 out
EMBEDDING = "openai/otel-contrib/openai-v2/test_embeddings_with_content.yaml"  # text-embedding-3-small: 6 in
LITELLM_CALLS = """
    import asyncio
    import os
    import litellm

    base = {"api_base": os.environ["OPENAI_BASE_URL"], "api_key": "test"}
    messages = [{"role": "user", "content": "Say this is a test"}]

    async def main():
        async for _ in await litellm.acompletion(model="gpt-4", messages=messages, stream=True, **base):
            pass
        await litellm.acompletion(model="gpt-4o-mini", messages=messages, **base)
        await litellm.aembedding(model="text-embedding-3-small", input=["Say this is a test"], **base)

    for _ in litellm.completion(model="gpt-4", messages=messages, stream=True, **base):
        pass
    asyncio.run(main())
    litellm.text_completion(model="gpt-4o-mini", prompt="Say this is a test", **base)
"""


def test_litellm_streams_async_calls_embeddings_and_text_completions_are_a_row_each(
    python: Path, collector: Any, clickhouse: Any, tmp_path: Path
) -> None:
    service = f"litellm-calls-{uuid.uuid4().hex[:6]}"
    answers = [(STREAM, 0), (STREAM, 0), (CASSETTE, 1), (EMBEDDING, 0), (CASSETTE, 0)]
    with ReplayServer(answers=answers) as server:
        _run(python, LITELLM_CALLS, tmp_path, service, server.base_url, collector, "off", "litellm")
        assert len(server.requests) == len(answers)
        assert [request.get("stream_options") for request in server.requests[:2]] == [{"include_usage": True}] * 2
        ids = server.response_ids()
    client = clickhouse.connect(collector.database)
    query = (
        "SELECT CallKey, Operation, IsStreaming, InputTokens, CacheReadInputTokens, OutputTokens, TotalCost, CostSource"
        " FROM llm_calls FINAL WHERE ServiceName = {s:String} ORDER BY Timestamp"
    )
    deadline = time.monotonic() + 30
    while len(rows := client.query(query, {"s": service}).result_rows) < len(answers) and time.monotonic() < deadline:
        time.sleep(0.2)
    gpt4 = Decimal("0.000660000000")  # 12 × 30 + 5 × 60 USD per million
    assert (
        rows
        == [
            (ids[0], "chat", True, 12, 0, 5, gpt4, "instrumentation"),
            (ids[1], "chat", True, 12, 0, 5, gpt4, "instrumentation"),
            (ids[2], "chat", False, *CALLS[1][:3], CALLS[1][3], "instrumentation"),
            ("", "embeddings", False, 6, 0, 0, Decimal("0.000000120000"), "instrumentation"),  # 6 × 0.02
            (ids[4], "text_completion", False, *CALLS[0][:3], CALLS[0][3], "instrumentation"),
        ]
    ), _explain(client, collector)
