# SPDX-License-Identifier: Apache-2.0
"""The attribute names of every span convention the collector reads, in order of preference.

Conventions covered (first name found wins):

* ours and the GenAI semantic conventions v1.41 (`gen_ai.usage.input_tokens`, `…cache_read.input_tokens`,
  `…cache_creation.input_tokens`, `…reasoning.output_tokens`, `gen_ai.provider.name`), plus our
  `llmledger.cost.*` breakdown and the de-facto `gen_ai.usage.cost` total;
* older official OTel GenAI instrumentations: `gen_ai.system`, `gen_ai.usage.prompt_tokens` /
  `gen_ai.usage.completion_tokens` (semconv ≤ 1.26);
* OpenLLMetry: `gen_ai.usage.*` (old and new names), `gen_ai.usage.cache_read_input_tokens`,
  `gen_ai.usage.cache_creation_input_tokens`, `gen_ai.usage.reasoning_tokens`, `llm.usage.total_tokens`,
  `llm.request.type`, and `gen_ai.system` spelled `Anthropic`;
* OpenLIT: `gen_ai.usage.*` with `gen_ai.usage.cost`;
* OpenInference: `openinference.span.kind`, `llm.model_name`, `llm.provider` / `llm.system`,
  `llm.token_count.{prompt,completion,total}`, `llm.token_count.prompt_details.{cache_read,cache_write}`,
  `llm.token_count.completion_details.reasoning`, `llm.cost.*`;
* LiteLLM's OTel callback (`callbacks=["otel"]`): `gen_ai.cost.{total,input,cache_read,cache_creation,output}_cost`
  (its input cost includes the cache reads and writes, as OpenInference's prompt cost does), and its usage as
  `metadata.usage_object`, a Python dict's text, where its cached tokens are (`LITELLM_USAGE`);
* LangSmith's OTel export (`LANGSMITH_OTEL_ENABLED`): the response id only inside its outputs' JSON
  (`LANGSMITH_OUTPUTS`), LangChain's cache counts as Python's text of a dict (`LANGSMITH_INPUT_DETAILS`);
* the Anthropic SDK's own spans (`anthropic.messages.create`, scope `com.anthropic.sdk.python`), which name
  cache writes `gen_ai.usage.cache_write.input_tokens` and the one-hour part
  `anthropic.usage.cache_creation.ephemeral_1h_input_tokens`.

Token normalisation. Every convention above documents (or, in its current code, computes) an *inclusive*
input count: the Anthropic SDK adds cache reads and writes to `input_tokens` itself, OpenLLMetry and
OpenInference sum them too, and semconv requires it. Older releases of some instrumentations passed
Anthropic's native *exclusive* `input_tokens` through. An inclusive count is never smaller than its cache
subsets, so when input < cache reads + cache writes the count is taken as exclusive and the cache is added.
An exclusive count that happens to exceed its cache subsets cannot be told apart and is read as inclusive
(the current releases of every convention above are inclusive, so only old Anthropic spans are affected).
Output always includes reasoning: a reasoning
count larger than the output count means the output was exclusive, and it is added.
"""

from __future__ import annotations

from typing import Final

INPUT_TOKENS: Final = (
    "gen_ai.usage.input_tokens",
    "llm.token_count.prompt",
    "gen_ai.usage.prompt_tokens",
)
OUTPUT_TOKENS: Final = (
    "gen_ai.usage.output_tokens",
    "llm.token_count.completion",
    "gen_ai.usage.completion_tokens",
)
CACHE_READ_TOKENS: Final = (
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_read_input_tokens",
    "llm.token_count.prompt_details.cache_read",
)
CACHE_WRITE_TOKENS: Final = (
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_write.input_tokens",
    "gen_ai.usage.cache_creation_input_tokens",
    "llm.token_count.prompt_details.cache_write",
)
CACHE_WRITE_1H_TOKENS: Final = (
    "llmledger.usage.cache_creation_1h.input_tokens",
    "anthropic.usage.cache_creation.ephemeral_1h_input_tokens",
)
REASONING_TOKENS: Final = (
    "gen_ai.usage.reasoning.output_tokens",
    "gen_ai.usage.reasoning_tokens",
    "llm.token_count.completion_details.reasoning",
)
TOTAL_TOKENS: Final = ("llm.usage.total_tokens", "gen_ai.usage.total_tokens", "llm.token_count.total")

PROVIDER: Final = ("gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system")
OPERATION: Final = ("gen_ai.operation.name", "llm.request.type")
REQUEST_MODEL: Final = ("gen_ai.request.model", "llm.model_name", "llm.request.model")
RESPONSE_MODEL: Final = ("gen_ai.response.model", "llm.response.model")
FINISH_REASONS: Final = ("gen_ai.response.finish_reasons", "anthropic.message.stop_reason")
# The provider's id of the response: one call's identity on every span that reports it, whichever instrumentation
# made the span (semconv, OpenLLMetry, pydantic-ai, LangSmith's and LiteLLM's OTel export; OpenInference-style and
# the Vercel AI SDK's `llm.response.id`), so the collector keeps one row per call (`pipeline.call_merger`).
RESPONSE_ID: Final = ("gen_ai.response.id", "llm.response.id")
STREAMING: Final = ("gen_ai.request.stream", "llm.is_streaming")
TIME_TO_FIRST_CHUNK: Final = ("gen_ai.response.time_to_first_chunk",)
ERROR_TYPE: Final = "error.type"
USAGE_COMPLETE: Final = "llmledger.usage.complete"
# LiteLLM's OTel callback puts its usage object here as Python's text of a dict; its cached tokens are nowhere else
# unless LiteLLM runs with the latest GenAI semantic conventions.
LITELLM_USAGE: Final = "metadata.usage_object"
# LangSmith's OTel export: LangChain's input token details, Python's text of a dict (`{'cache_read': 1024}`).
LANGSMITH_INPUT_DETAILS: Final = "gen_ai.usage.input_token_details"
USAGE_TEXTS: Final = (LITELLM_USAGE, LANGSMITH_INPUT_DETAILS)  # read by pattern, in Python
# LangSmith's OTel export: the run's outputs as JSON, where a chat model's response id is (`llm_output.id`).
LANGSMITH_OUTPUTS: Final = "gen_ai.completion"

# Cost. A span carrying any of these keeps its cost (cost_source 'instrumentation', or 'provider' when
# COST_SOURCE says the provider reported it).
COST_TOTAL: Final = ("gen_ai.usage.cost.amount", "gen_ai.usage.cost", "llm.cost.total", "gen_ai.cost.total_cost")
COST_CURRENCY: Final = "gen_ai.usage.cost.currency"
COST_INPUT: Final = ("llmledger.cost.input", "llm.cost.prompt_details.input")
COST_CACHE_READ: Final = (
    "llmledger.cost.cache_read",
    "llm.cost.prompt_details.cache_read",
    "gen_ai.cost.cache_read_cost",
)
COST_CACHE_WRITE: Final = (
    "llmledger.cost.cache_write",
    "llm.cost.prompt_details.cache_write",
    "gen_ai.cost.cache_creation_cost",
)
COST_OUTPUT: Final = ("llmledger.cost.output", "llm.cost.completion", "gen_ai.cost.output_cost")
# All input, cache included: OpenInference's prompt cost, LiteLLM's input cost.
COST_PROMPT: Final = ("llm.cost.prompt", "gen_ai.cost.input_cost")
PRICED_MODEL: Final = "llmledger.price.model"
COST_SOURCE: Final = "gen_ai.usage.cost.source"  # 'provider': the provider reported the cost; else computed
COST_SOURCE_PROVIDER: Final = "provider"

# Ownership dimensions: span attributes first, then resource attributes.
TENANT: Final = ("llmledger.tenant", "tenant.id")
FEATURE: Final = ("llmledger.feature",)
USER: Final = ("llmledger.user_id", "user.id", "enduser.id")
SESSION: Final = ("llmledger.session_id", "session.id", "gen_ai.conversation.id")
ENVIRONMENT: Final = ("deployment.environment.name", "deployment.environment")
SERVICE: Final = "service.name"
# The host a call went to: stored on a call whose usage never arrived, so `report` can name the host to look at.
SERVER_ADDRESS: Final = "server.address"
# Free-form attribution (`llmledger.attributes(**custom)`, or baggage copied onto spans): stored in Attributes
# under the key without this prefix. Read by prefix, so not in READ.
CUSTOM_PREFIX: Final = "llmledger.custom."

# Span kinds that are not a model call even when they carry (aggregated) usage.
OPENINFERENCE_KIND: Final = "openinference.span.kind"
OPENINFERENCE_LLM_KINDS: Final = frozenset({"LLM", "EMBEDDING"})
TRACELOOP_KIND: Final = "traceloop.span.kind"
NOT_A_CALL_OPERATIONS: Final = frozenset({"invoke_agent", "create_agent", "execute_tool", "invoke_workflow"})
CALL_OPERATIONS: Final = frozenset(
    {"chat", "text_completion", "generate_content", "embeddings", "completion", "embedding", "rerank", "responses"}
)

USAGE_KEYS: Final = frozenset(INPUT_TOKENS + OUTPUT_TOKENS + TOTAL_TOKENS)
COST_KEYS: Final = frozenset(COST_TOTAL)

# Every key extraction reads: a span's attributes are filtered to these before anything else.
READ: Final = frozenset(
    INPUT_TOKENS
    + OUTPUT_TOKENS
    + CACHE_READ_TOKENS
    + CACHE_WRITE_TOKENS
    + CACHE_WRITE_1H_TOKENS
    + REASONING_TOKENS
    + TOTAL_TOKENS
    + PROVIDER
    + OPERATION
    + REQUEST_MODEL
    + RESPONSE_MODEL
    + FINISH_REASONS
    + RESPONSE_ID
    + STREAMING
    + TIME_TO_FIRST_CHUNK
    + COST_TOTAL
    + COST_INPUT
    + COST_CACHE_READ
    + COST_CACHE_WRITE
    + COST_OUTPUT
    + COST_PROMPT
    + TENANT
    + FEATURE
    + USER
    + SESSION
    + ENVIRONMENT
    + (
        ERROR_TYPE,
        USAGE_COMPLETE,
        COST_CURRENCY,
        LITELLM_USAGE,
        LANGSMITH_INPUT_DETAILS,
        LANGSMITH_OUTPUTS,
        PRICED_MODEL,
        COST_SOURCE,
        OPENINFERENCE_KIND,
        TRACELOOP_KIND,
        SERVICE,
        SERVER_ADDRESS,
    )
)

# Provider spellings of other conventions → semconv `gen_ai.provider.name` values (what prices are keyed by).
PROVIDER_ALIASES: Final = {
    "openai": "openai",
    "azure": "azure.ai.openai",
    "azure_openai": "azure.ai.openai",
    "az.ai.openai": "azure.ai.openai",
    "azure.ai.openai": "azure.ai.openai",
    "anthropic": "anthropic",
    "aws": "aws.bedrock",
    "bedrock": "aws.bedrock",
    "aws.bedrock": "aws.bedrock",
    "aws_bedrock": "aws.bedrock",
    "google": "gcp.gen_ai",
    "gemini": "gcp.gemini",
    "gcp.gemini": "gcp.gemini",
    "vertexai": "gcp.vertex_ai",
    "vertex_ai": "gcp.vertex_ai",
    "gcp.vertex_ai": "gcp.vertex_ai",
    "gcp.gen_ai": "gcp.gen_ai",
    "mistralai": "mistral_ai",
    "mistral": "mistral_ai",
    "mistral_ai": "mistral_ai",
    "cohere": "cohere",
    "groq": "groq",
    "deepseek": "deepseek",
    "xai": "x_ai",
    "x_ai": "x_ai",
    "together": "together",
    "togetherai": "together",
    "together_ai": "together",
    "openrouter": "openrouter",
    "perplexity": "perplexity",
    "fireworks": "fireworks",
    "cerebras": "cerebras",
    "ollama": "ollama",
    "vllm": "vllm",
}


def provider_name(raw: str) -> str:
    """The semconv provider name for any convention's spelling (`Anthropic`, `mistralai`, `az.ai.openai`…)."""
    lowered = raw.strip().lower()
    return PROVIDER_ALIASES.get(lowered, lowered)
