-- SPDX-License-Identifier: Apache-2.0
-- llm_calls: one typed row per LLM call, the fact table every cost question starts from.
--
-- Columns are `LlmCall` (collector/calls.py) in CamelCase. Token counts follow the GenAI semantic conventions:
-- InputTokens INCLUDES cache reads and cache writes, OutputTokens INCLUDES reasoning; the cache/reasoning
-- columns are subsets. Costs are USD Decimal(18,12) so that sums are exact (they sum to Decimal(38,12)).
-- InputCost is uncached input only, and Input+CacheRead+CacheWrite+Output+Other = TotalCost.
-- CostSource says who computed the cost: 'instrumentation' (the span's own, computed in the application),
-- 'provider' (the span's own, reported by the provider), 'collector' (priced here), 'unpriced' (no price known,
-- costs are 0 and must not be read as free); rows stored before these names say 'reported' (the span's own)
-- and 'computed' (priced here). PriceId points into llm_model_prices.
--
-- ReplacingMergeTree(Version): a re-sent span (same ordering key) collapses to one row under FINAL, and a
-- re-priced call is a new row with a higher Version, never a mutation. The ordering key leads with what every
-- query filters on (tenant, day) and ends with (TraceId, SpanId) to make it unique per span.
-- non_replicated_deduplication_window: a retried insert carrying the same insert_deduplication_token is
-- dropped here and, with deduplicate_blocks_in_dependent_materialized_views = 1, in every rollup too.

CREATE TABLE IF NOT EXISTS {database}.llm_calls
(
    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    SpanId String CODEC(ZSTD(1)),
    ParentSpanId String CODEC(ZSTD(1)),
    SpanName LowCardinality(String) CODEC(ZSTD(1)),
    DurationMs Float64 CODEC(ZSTD(1)),
    TimeToFirstChunkMs Float64 CODEC(ZSTD(1)),

    Tenant LowCardinality(String) CODEC(ZSTD(1)),
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    Environment LowCardinality(String) CODEC(ZSTD(1)),
    Feature LowCardinality(String) CODEC(ZSTD(1)),
    UserId String CODEC(ZSTD(1)),
    SessionId String CODEC(ZSTD(1)),

    Provider LowCardinality(String) CODEC(ZSTD(1)),
    Operation LowCardinality(String) CODEC(ZSTD(1)),
    RequestModel LowCardinality(String) CODEC(ZSTD(1)),
    ResponseModel LowCardinality(String) CODEC(ZSTD(1)),
    PricedModel LowCardinality(String) CODEC(ZSTD(1)),
    -- The model every report groups by: the one the price was found under, else what answered, else what was asked.
    Model LowCardinality(String) DEFAULT if(PricedModel != '', PricedModel, if(ResponseModel != '', ResponseModel, RequestModel)),
    StatusCode LowCardinality(String) CODEC(ZSTD(1)),
    ErrorType LowCardinality(String) CODEC(ZSTD(1)),
    FinishReason LowCardinality(String) CODEC(ZSTD(1)),
    IsStreaming Bool,
    UsageComplete Bool DEFAULT true,

    InputTokens UInt32 CODEC(T64, ZSTD(1)),
    OutputTokens UInt32 CODEC(T64, ZSTD(1)),
    CacheReadInputTokens UInt32 CODEC(T64, ZSTD(1)),
    CacheCreationInputTokens UInt32 CODEC(T64, ZSTD(1)),
    ReasoningOutputTokens UInt32 CODEC(T64, ZSTD(1)),
    UncachedInputTokens UInt32 MATERIALIZED InputTokens - least(InputTokens, CacheReadInputTokens + CacheCreationInputTokens),
    TotalTokens UInt64 ALIAS toUInt64(InputTokens) + OutputTokens,

    InputCost Decimal(18, 12) CODEC(ZSTD(1)),
    CacheReadCost Decimal(18, 12) CODEC(ZSTD(1)),
    CacheWriteCost Decimal(18, 12) CODEC(ZSTD(1)),
    OutputCost Decimal(18, 12) CODEC(ZSTD(1)),
    OtherCost Decimal(18, 12) CODEC(ZSTD(1)),
    TotalCost Decimal(18, 12) CODEC(ZSTD(1)),
    CacheSavings Decimal(18, 12) CODEC(ZSTD(1)),
    CostSource LowCardinality(String) CODEC(ZSTD(1)),
    PriceId LowCardinality(String) CODEC(ZSTD(1)),
    Currency LowCardinality(String) DEFAULT 'USD',

    Attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    IngestedAt DateTime64(3) DEFAULT now64(3) CODEC(Delta(8), ZSTD(1)),
    Version UInt64 DEFAULT toUnixTimestamp64Micro(now64(6)),

    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_user_id UserId TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_session_id SessionId TYPE bloom_filter(0.01) GRANULARITY 1,
    -- "which calls were priced with this price" (re-pricing) and "which calls have no price" skip granules.
    INDEX idx_price_id PriceId TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_cost_source CostSource TYPE set(4) GRANULARITY 1,
    INDEX idx_attr_key mapKeys(Attributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_attr_value mapValues(Attributes) TYPE bloom_filter(0.01) GRANULARITY 1
)
ENGINE = ReplacingMergeTree(Version)
PARTITION BY toYYYYMM(Timestamp)
PRIMARY KEY (Tenant, toDate(Timestamp), ServiceName, Provider, Model)
ORDER BY (Tenant, toDate(Timestamp), ServiceName, Provider, Model, TraceId, SpanId)
TTL toDateTime(Timestamp) + toIntervalDay(400)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000;
