# SPDX-License-Identifier: Apache-2.0
"""The recorded traffic the demo app's calls are answered with (files under tests/cassettes)."""

DEMO = (
    "openai/openllmetry/openai/traces/test_prompt_caching/test_openai_prompt_caching.yaml",
    "openai/openllmetry/openai/traces/test_chat/test_chat_reasoning.yaml",
    "openai/otel-contrib/openai-v2/test_chat_completion_streaming.yaml",
    "openai/openllmetry/openai/traces/test_embeddings/test_embeddings.yaml",
    "openai/openllmetry/openai/traces/test_responses/test_responses.yaml",
)
