-- SPDX-License-Identifier: Apache-2.0
-- Rollups of llm_calls kept current by materialized views, so dashboards read thousands of rows, not millions.
--
-- Plain sums are SimpleAggregateFunction(sum, …): read them with sum(), no -Merge combinators needed.
-- Users, Traces and latency quantiles are aggregate states: read them with uniqMerge(Users),
-- uniqMerge(Traces), quantilesTDigestMerge(0.5, 0.95, 0.99)(DurationMs).
-- Rows are not final until merged: always aggregate (GROUP BY) when reading a rollup.
-- A span sent twice in DIFFERENT batches collapses in llm_calls FINAL but counts twice here; the collector
-- filters such re-sends. A retried batch with the same insert_deduplication_token is dropped here too
-- (deduplication window on every target table).

CREATE TABLE IF NOT EXISTS {database}.llm_usage_hourly
(
    Tenant LowCardinality(String),
    Hour DateTime CODEC(Delta(4), ZSTD(1)),
    ServiceName LowCardinality(String),
    Environment LowCardinality(String),
    Feature LowCardinality(String),
    Provider LowCardinality(String),
    Model LowCardinality(String),
    Operation LowCardinality(String),

    Calls SimpleAggregateFunction(sum, UInt64),
    ErrorCalls SimpleAggregateFunction(sum, UInt64),
    UnpricedCalls SimpleAggregateFunction(sum, UInt64),
    IncompleteUsageCalls SimpleAggregateFunction(sum, UInt64),
    InputTokens SimpleAggregateFunction(sum, UInt64),
    OutputTokens SimpleAggregateFunction(sum, UInt64),
    CacheReadInputTokens SimpleAggregateFunction(sum, UInt64),
    CacheCreationInputTokens SimpleAggregateFunction(sum, UInt64),
    ReasoningOutputTokens SimpleAggregateFunction(sum, UInt64),
    InputCost SimpleAggregateFunction(sum, Decimal(38, 12)),
    CacheReadCost SimpleAggregateFunction(sum, Decimal(38, 12)),
    CacheWriteCost SimpleAggregateFunction(sum, Decimal(38, 12)),
    OutputCost SimpleAggregateFunction(sum, Decimal(38, 12)),
    OtherCost SimpleAggregateFunction(sum, Decimal(38, 12)),
    TotalCost SimpleAggregateFunction(sum, Decimal(38, 12)),
    CacheSavings SimpleAggregateFunction(sum, Decimal(38, 12)),
    Users AggregateFunction(uniq, String),
    Traces AggregateFunction(uniq, String),
    DurationMs AggregateFunction(quantilesTDigest(0.5, 0.95, 0.99), Float64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(Hour)
ORDER BY (Tenant, Hour, ServiceName, Environment, Feature, Provider, Model, Operation)
TTL Hour + toIntervalDay(800)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.llm_usage_hourly_mv TO {database}.llm_usage_hourly AS
SELECT
    Tenant,
    toStartOfHour(Timestamp) AS Hour,
    ServiceName,
    Environment,
    Feature,
    Provider,
    Model,
    Operation,
    count() AS Calls,
    countIf(StatusCode IN ('Error', 'STATUS_CODE_ERROR') OR ErrorType != '') AS ErrorCalls,
    countIf(CostSource = 'unpriced') AS UnpricedCalls,
    countIf(NOT UsageComplete) AS IncompleteUsageCalls,
    sum(InputTokens) AS InputTokens,
    sum(OutputTokens) AS OutputTokens,
    sum(CacheReadInputTokens) AS CacheReadInputTokens,
    sum(CacheCreationInputTokens) AS CacheCreationInputTokens,
    sum(ReasoningOutputTokens) AS ReasoningOutputTokens,
    sum(InputCost) AS InputCost,
    sum(CacheReadCost) AS CacheReadCost,
    sum(CacheWriteCost) AS CacheWriteCost,
    sum(OutputCost) AS OutputCost,
    sum(OtherCost) AS OtherCost,
    sum(TotalCost) AS TotalCost,
    sum(CacheSavings) AS CacheSavings,
    uniqStateIf(UserId, UserId != '') AS Users,
    uniqStateIf(TraceId, TraceId != '') AS Traces,
    quantilesTDigestState(0.5, 0.95, 0.99)(DurationMs) AS DurationMs
FROM {database}.llm_calls
GROUP BY Tenant, Hour, ServiceName, Environment, Feature, Provider, Model, Operation;

CREATE TABLE IF NOT EXISTS {database}.llm_usage_daily_user
(
    Tenant LowCardinality(String),
    Day Date,
    UserId String,
    ServiceName LowCardinality(String),
    Feature LowCardinality(String),
    Model LowCardinality(String),

    Calls UInt64,
    ErrorCalls UInt64,
    InputTokens UInt64,
    OutputTokens UInt64,
    CacheReadInputTokens UInt64,
    TotalCost Decimal(38, 12),
    CacheSavings Decimal(38, 12)
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(Day)
ORDER BY (Tenant, Day, UserId, ServiceName, Feature, Model)
TTL Day + toIntervalDay(800)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.llm_usage_daily_user_mv TO {database}.llm_usage_daily_user AS
SELECT
    Tenant,
    toDate(Timestamp) AS Day,
    UserId,
    ServiceName,
    Feature,
    Model,
    count() AS Calls,
    countIf(StatusCode IN ('Error', 'STATUS_CODE_ERROR') OR ErrorType != '') AS ErrorCalls,
    sum(InputTokens) AS InputTokens,
    sum(OutputTokens) AS OutputTokens,
    sum(CacheReadInputTokens) AS CacheReadInputTokens,
    sum(TotalCost) AS TotalCost,
    sum(CacheSavings) AS CacheSavings
FROM {database}.llm_calls
GROUP BY Tenant, Day, UserId, ServiceName, Feature, Model;

CREATE TABLE IF NOT EXISTS {database}.llm_trace_costs
(
    Tenant LowCardinality(String),
    Day Date,
    TraceId String,

    Start SimpleAggregateFunction(min, DateTime64(9)),
    End SimpleAggregateFunction(max, DateTime64(9)),
    Calls SimpleAggregateFunction(sum, UInt64),
    ErrorCalls SimpleAggregateFunction(sum, UInt64),
    UnpricedCalls SimpleAggregateFunction(sum, UInt64),
    InputTokens SimpleAggregateFunction(sum, UInt64),
    OutputTokens SimpleAggregateFunction(sum, UInt64),
    TotalCost SimpleAggregateFunction(sum, Decimal(38, 12)),
    CacheSavings SimpleAggregateFunction(sum, Decimal(38, 12)),
    Models SimpleAggregateFunction(groupUniqArrayArray, Array(String)),
    -- max() rather than any(): deterministic, and it prefers a set value over ''.
    ServiceName SimpleAggregateFunction(max, String),
    UserId SimpleAggregateFunction(max, String),
    SessionId SimpleAggregateFunction(max, String),
    Feature SimpleAggregateFunction(max, String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(Day)
ORDER BY (Tenant, Day, TraceId)
TTL Day + toIntervalDay(400)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.llm_trace_costs_mv TO {database}.llm_trace_costs AS
SELECT
    Tenant,
    toDate(Timestamp) AS Day,
    TraceId,
    min(Timestamp) AS Start,
    max(Timestamp + toIntervalNanosecond(toInt64(DurationMs * 1000000))) AS End,
    count() AS Calls,
    countIf(StatusCode IN ('Error', 'STATUS_CODE_ERROR') OR ErrorType != '') AS ErrorCalls,
    countIf(CostSource = 'unpriced') AS UnpricedCalls,
    sum(InputTokens) AS InputTokens,
    sum(OutputTokens) AS OutputTokens,
    sum(TotalCost) AS TotalCost,
    sum(CacheSavings) AS CacheSavings,
    groupUniqArray(toString(Model)) AS Models,
    max(toString(ServiceName)) AS ServiceName,
    max(UserId) AS UserId,
    max(SessionId) AS SessionId,
    max(toString(Feature)) AS Feature
FROM {database}.llm_calls
GROUP BY Tenant, Day, TraceId;
