# SPDX-License-Identifier: Apache-2.0
"""Each model family's `InvokeModel` bodies and stream chunks, read alike.

The recorded traffic (test_recorded_traffic.py) has Claude, Nova, Titan, Llama, Mistral, Cohere and AI21 bodies;
the shapes below add the families it lacks (DeepSeek, OpenAI-style bodies such as AI21 Jamba's, Llama and Mistral
streams), as Bedrock's model documentation shows them.
"""

from __future__ import annotations

import json

import pytest

from llmledger._core.usage import Usage
from llmledger.instrumentation.bedrock import _bodies
from llmledger.instrumentation.bedrock._streams import _READ, InvokeStreamReader


@pytest.mark.parametrize(
    ("body", "attributes"),
    [
        (  # Claude (Messages)
            {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 512, "temperature": 0.5, "top_k": 250},
            {"gen_ai.request.max_tokens": 512, "gen_ai.request.temperature": 0.5, "gen_ai.request.top_k": 250},
        ),
        (  # Nova
            {"messages": [], "inferenceConfig": {"maxTokens": 300, "topP": 0.9, "stopSequences": ["|"]}},
            {"gen_ai.request.max_tokens": 300, "gen_ai.request.top_p": 0.9, "gen_ai.request.stop_sequences": ("|",)},
        ),
        (  # Titan
            {"inputText": "hi", "textGenerationConfig": {"maxTokenCount": 200, "temperature": 0.1}},
            {"gen_ai.request.max_tokens": 200, "gen_ai.request.temperature": 0.1},
        ),
        (
            {"prompt": "hi", "max_gen_len": 128, "top_p": 0.9},
            {"gen_ai.request.max_tokens": 128, "gen_ai.request.top_p": 0.9},
        ),
        (
            {"prompt": "hi", "max_tokens": 10, "p": 0.75, "k": 0},
            {"gen_ai.request.max_tokens": 10, "gen_ai.request.top_p": 0.75, "gen_ai.request.top_k": 0},
        ),
        (
            {"prompt": "hi", "maxTokens": 200, "topP": 0.5},
            {"gen_ai.request.max_tokens": 200, "gen_ai.request.top_p": 0.5},
        ),
    ],
    ids=["claude", "nova", "titan", "llama", "cohere", "ai21-jurassic"],
)
def test_request_parameters_of_every_family(body, attributes):
    assert _bodies.request_attributes(body) == attributes


def test_the_operation_a_body_asks_for():
    assert _bodies.operation("anthropic.claude-3-haiku-20240307-v1:0", {"messages": []}) == "chat"
    assert _bodies.operation("meta.llama3-70b-instruct-v1:0", {"prompt": "hi"}) == "text_completion"
    assert _bodies.operation("amazon.titan-embed-text-v2:0", {"inputText": "hi"}) == "embeddings"
    assert _bodies.operation("cohere.embed-english-v3", {"texts": ["hi"]}) == "embeddings"


@pytest.mark.parametrize(
    ("body", "usage", "reasons"),
    [
        (  # DeepSeek R1 (text completion)
            {"choices": [{"text": "4", "stop_reason": "stop"}]},
            None,
            ["stop"],
        ),
        (  # AI21 Jamba, DeepSeek and other OpenAI-style chat bodies: prompt_tokens includes cached tokens
            {
                "id": "chatcmpl-1",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "4"}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15},
            },
            Usage(12, 3),
            ["stop"],
        ),
        (  # Claude with prompt caching: its input_tokens leaves the cache out
            {
                "stop_reason": "end_turn",
                "usage": {"input_tokens": 4, "cache_read_input_tokens": 100, "output_tokens": 9},
            },
            Usage(104, 9, 100),
            ["end_turn"],
        ),
        (  # Nova: Bedrock's naming, the cache outside the input too
            {"stopReason": "end_turn", "usage": {"inputTokens": 7, "outputTokens": 53, "cacheReadInputTokenCount": 20}},
            Usage(27, 53, 20, None),
            ["end_turn"],
        ),
        (  # Titan: one count per result
            {"inputTextTokenCount": 5, "results": [{"tokenCount": 10, "completionReason": "LENGTH"}]},
            Usage(5, 10),
            ["LENGTH"],
        ),
        (
            {"generation": "hi", "prompt_token_count": 8, "generation_token_count": 35, "stop_reason": "stop"},
            Usage(8, 35),
            ["stop"],
        ),
        ({"outputs": [{"text": "hi", "stop_reason": "length"}]}, None, ["length"]),
        ({"generations": [{"text": "hi", "finish_reason": "MAX_TOKENS"}]}, None, ["MAX_TOKENS"]),
        ({"completions": [{"data": {"text": "hi"}, "finishReason": {"reason": "endoftext"}}]}, None, ["endoftext"]),
    ],
    ids=["deepseek", "openai-style", "claude", "nova", "titan", "llama", "mistral", "cohere", "ai21-jurassic"],
)
def test_usage_and_stop_reason_of_every_family(body, usage, reasons):
    assert _bodies.usage(body) == usage
    assert _bodies.finish_reasons(body) == reasons
    assert _READ.search(json.dumps(body).encode())  # as a stream chunk, it would be decoded


def _chunk(data: dict) -> dict:
    return {"chunk": {"bytes": json.dumps(data).encode()}}


_METRICS = {"inputTokenCount": 8, "outputTokenCount": 3, "invocationLatency": 100, "firstByteLatency": 50}


@pytest.mark.parametrize(
    "chunks",
    [
        [  # Llama: the prompt count in the first chunk, the generated count growing
            {"generation": "Hel", "prompt_token_count": 8, "generation_token_count": 1, "stop_reason": None},
            {"generation": "lo", "prompt_token_count": None, "generation_token_count": 3, "stop_reason": "stop"},
        ],
        [  # DeepSeek R1
            {"choices": [{"text": "Hel", "stop_reason": None}]},
            {"choices": [{"text": "lo", "stop_reason": "stop"}]},
        ],
        [  # Mistral
            {"outputs": [{"text": "Hel", "stop_reason": None}]},
            {"outputs": [{"text": "lo", "stop_reason": "stop"}]},
        ],
    ],
    ids=["llama", "deepseek", "mistral"],
)
def test_a_stream_of_any_family_ends_with_bedrocks_invocation_metrics(chunks):
    reader = InvokeStreamReader()
    for data in chunks[:-1]:
        reader.feed(_chunk(data))
    assert not reader.usage_seen
    reader.feed(_chunk({**chunks[-1], "amazon-bedrock-invocationMetrics": _METRICS}))

    response = reader.response()
    assert reader.usage_seen
    assert response.usage == Usage(8, 3)
    assert response.finish_reasons == ["stop"]


def test_without_invocation_metrics_a_stream_has_its_familys_final_counts_or_none():
    llama = InvokeStreamReader()
    llama.feed(_chunk({"generation": "Hel", "prompt_token_count": 8, "generation_token_count": 1, "stop_reason": None}))
    assert not llama.usage_seen and llama.response().usage == Usage()  # cut off: no final count, no usage
    llama.feed(
        _chunk({"generation": "lo", "prompt_token_count": None, "generation_token_count": 3, "stop_reason": "stop"})
    )
    assert llama.usage_seen and llama.response().usage == Usage(8, 3)


def test_a_chunk_of_text_only_is_never_decoded_and_the_stream_reads_the_same(monkeypatch):
    decoded = []
    parse = _bodies.parse
    monkeypatch.setattr(_bodies, "parse", lambda raw: decoded.append(raw) or parse(raw))
    titan = InvokeStreamReader()
    for data in (
        {"outputText": "Once", "index": 0, "inputTextTokenCount": 28},
        {"outputText": " upon a time, usage and type were words", "index": 0},  # text only
        {"outputText": ".", "index": 0, "totalOutputTextTokenCount": 188, "completionReason": "FINISH"},
    ):
        titan.feed(_chunk(data))
    assert len(decoded) == 2
    assert titan.usage_seen and titan.response().usage == Usage(28, 188)
    assert titan.response().finish_reasons == ["FINISH"]


def test_a_body_that_is_not_utf8_json_is_none():
    assert _bodies.parse(b'{"a": 1}') == {"a": 1} == _bodies.parse(memoryview(b'{"a": 1}'))
    assert _bodies.parse(b"\xff{") is None and _bodies.parse(b"{") is None and _bodies.parse(object()) is None
