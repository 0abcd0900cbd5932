# SPDX-License-Identifier: Apache-2.0
"""The span attribute contract, in one place.

GenAI semantic-convention names (semconv v1.41) are spelled out here rather than imported from
`opentelemetry.semconv._incubating`, whose module layout changes between releases; the names themselves
are the contract that the collector and every other consumer read. Our own cost attributes live under
`llmledger.*`, next to the de-facto `gen_ai.usage.cost` and the proposed `gen_ai.usage.cost.*`.
"""

from typing import Final

# --- GenAI semantic conventions -------------------------------------------------------------------
OPERATION_NAME: Final = "gen_ai.operation.name"
PROVIDER_NAME: Final = "gen_ai.provider.name"
REQUEST_MODEL: Final = "gen_ai.request.model"
REQUEST_MAX_TOKENS: Final = "gen_ai.request.max_tokens"
REQUEST_TEMPERATURE: Final = "gen_ai.request.temperature"
REQUEST_TOP_P: Final = "gen_ai.request.top_p"
REQUEST_TOP_K: Final = "gen_ai.request.top_k"
REQUEST_FREQUENCY_PENALTY: Final = "gen_ai.request.frequency_penalty"
REQUEST_PRESENCE_PENALTY: Final = "gen_ai.request.presence_penalty"
REQUEST_STOP_SEQUENCES: Final = "gen_ai.request.stop_sequences"
REQUEST_SEED: Final = "gen_ai.request.seed"
REQUEST_CHOICE_COUNT: Final = "gen_ai.request.choice.count"
REQUEST_STREAM: Final = "gen_ai.request.stream"
REQUEST_ENCODING_FORMATS: Final = "gen_ai.request.encoding_formats"
OUTPUT_TYPE: Final = "gen_ai.output.type"
RESPONSE_ID: Final = "gen_ai.response.id"
RESPONSE_MODEL: Final = "gen_ai.response.model"
RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
RESPONSE_TIME_TO_FIRST_CHUNK: Final = "gen_ai.response.time_to_first_chunk"
EMBEDDINGS_DIMENSION_COUNT: Final = "gen_ai.embeddings.dimension.count"
CONVERSATION_ID: Final = "gen_ai.conversation.id"

USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
USAGE_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.usage.cache_read.input_tokens"
USAGE_CACHE_CREATION_INPUT_TOKENS: Final = "gen_ai.usage.cache_creation.input_tokens"
USAGE_REASONING_OUTPUT_TOKENS: Final = "gen_ai.usage.reasoning.output_tokens"

INPUT_MESSAGES: Final = "gen_ai.input.messages"
OUTPUT_MESSAGES: Final = "gen_ai.output.messages"
SYSTEM_INSTRUCTIONS: Final = "gen_ai.system_instructions"

OPENAI_REQUEST_SERVICE_TIER: Final = "openai.request.service_tier"
OPENAI_RESPONSE_SERVICE_TIER: Final = "openai.response.service_tier"
OPENAI_RESPONSE_SYSTEM_FINGERPRINT: Final = "openai.response.system_fingerprint"
# The names the Anthropic SDK's own spans use, so that both kinds of span read alike.
ANTHROPIC_REQUEST_SERVICE_TIER: Final = "anthropic.request.service_tier"
ANTHROPIC_RESPONSE_SERVICE_TIER: Final = "anthropic.response.service_tier"
# How the call was served, which the SDK's spans do not record (fast mode, where inference ran).
ANTHROPIC_REQUEST_SPEED: Final = "anthropic.request.speed"
ANTHROPIC_RESPONSE_SPEED: Final = "anthropic.response.speed"
ANTHROPIC_REQUEST_INFERENCE_GEO: Final = "anthropic.request.inference_geo"
ANTHROPIC_RESPONSE_INFERENCE_GEO: Final = "anthropic.response.inference_geo"
ANTHROPIC_COUNT_TOKENS_INPUT_TOKENS: Final = "anthropic.message.count_tokens.input_tokens"
GCP_GEMINI_CACHED_CONTENT_TOKENS: Final = "gcp.gemini.cached_content.token_count"
# Amazon Bedrock's service tier (`default`, `flex`, `priority`, `reserved`), asked for and served.
AWS_BEDROCK_REQUEST_SERVICE_TIER: Final = "aws.bedrock.request.service_tier"
AWS_BEDROCK_RESPONSE_SERVICE_TIER: Final = "aws.bedrock.response.service_tier"

SERVER_ADDRESS: Final = "server.address"
SERVER_PORT: Final = "server.port"
ERROR_TYPE: Final = "error.type"

# --- Cost ----------------------------------------------------------------------------------------
# De-facto total in USD (OpenLIT, Langfuse, Logfire read it).
USAGE_COST: Final = "gen_ai.usage.cost"
# Proposed in semantic-conventions-genai (PR #443): amount, ISO 4217 currency, `local` or `provider`.
USAGE_COST_AMOUNT: Final = "gen_ai.usage.cost.amount"
USAGE_COST_CURRENCY: Final = "gen_ai.usage.cost.currency"
USAGE_COST_SOURCE: Final = "gen_ai.usage.cost.source"

COST_INPUT: Final = "llmledger.cost.input"
COST_CACHE_READ: Final = "llmledger.cost.cache_read"
COST_CACHE_WRITE: Final = "llmledger.cost.cache_write"
COST_OUTPUT: Final = "llmledger.cost.output"
COST_SEARCH_UNITS: Final = "llmledger.cost.search_units"
COST_UNPRICED: Final = "llmledger.cost.unpriced"
PRICE_SOURCE: Final = "llmledger.price.source"
PRICE_VERSION: Final = "llmledger.price.version"
PRICED_MODEL: Final = "llmledger.price.model"
PRICE_VARIANT: Final = "llmledger.price.variant"
USAGE_COMPLETE: Final = "llmledger.usage.complete"
USAGE_CACHE_CREATION_1H_INPUT_TOKENS: Final = "llmledger.usage.cache_creation_1h.input_tokens"
# Searches billed by the call (Cohere's rerank bills one per query over up to 100 documents), priced per search.
USAGE_SEARCH_UNITS: Final = "llmledger.usage.search_units"

COST_SOURCE_LOCAL: Final = "local"
COST_SOURCE_PROVIDER: Final = "provider"

# --- Metrics -------------------------------------------------------------------------------------
METRIC_TOKEN_USAGE: Final = "gen_ai.client.token.usage"
METRIC_OPERATION_DURATION: Final = "gen_ai.client.operation.duration"
METRIC_TIME_TO_FIRST_CHUNK: Final = "gen_ai.client.operation.time_to_first_chunk"
METRIC_COST: Final = "llmledger.client.cost"
TOKEN_TYPE: Final = "gen_ai.token.type"

# --- Attribution (llmledger.attributes, OTel baggage) ---------------------------------------------
# The collector reads these names (collector/extract/conventions.py) into llm_calls' dimensions.
USER_ID: Final = "llmledger.user_id"
SESSION_ID: Final = "llmledger.session_id"
FEATURE: Final = "llmledger.feature"
TENANT: Final = "llmledger.tenant"
CUSTOM_PREFIX: Final = "llmledger.custom."
# Names of the budgets a call went over without being refused (action log or warn).
BUDGET_EXCEEDED: Final = "llmledger.budget.exceeded"
