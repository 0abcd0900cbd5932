-- SPDX-License-Identifier: Apache-2.0
-- Re-pricing stored calls (`llmledger reprice`): a journal of every cost changed, an audit row per run, and the
-- rollups moved by exactly each change.
--
-- A re-priced call is a new version of its llm_calls row (a higher Version, `RepricedBy` = the run), never an
-- edit, and the rollups' views skip such rows (migration 0010): the rollups are moved instead by the journal.
-- llm_call_repricings holds one row per call re-priced, with its old and new costs; the views below turn each
-- row into the change it makes to every rollup (new − old; calls, tokens and the sets of users, traces,
-- models and latencies untouched), so `sum()` over a rollup equals the same sum over `llm_calls FINAL` again.
-- A call moving out of (or into) `unpriced` moves UnpricedCalls by −1 (or +1): the column is a UInt64 sum, so
-- −1 is stored as 2^64 − 1 and the sums wrap back to the exact count (ClickHouse sums unsigned integers modulo
-- 2^64). A journal row and its rollup changes are one insert; the new llm_calls version follows it, and a run
-- cut short is finished by the next one from the journal (collector/repricing/reprice.py).

CREATE TABLE IF NOT EXISTS {database}.llm_call_repricings
(
    RunId String,
    RepricedAt DateTime64(3) DEFAULT now64(3),
    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    TraceId String,
    SpanId String,
    Tenant LowCardinality(String),
    ServiceName LowCardinality(String),
    Environment LowCardinality(String),
    Feature LowCardinality(String),
    UserId String,
    Provider LowCardinality(String),
    Model LowCardinality(String),
    Operation LowCardinality(String),
    OldVersion UInt64,
    NewVersion UInt64,
    OldCostSource LowCardinality(String),
    NewCostSource LowCardinality(String),
    OldPriceId String,
    NewPriceId String,
    NewPricedModel String,
    OldInputCost Decimal(18, 12),
    OldCacheReadCost Decimal(18, 12),
    OldCacheWriteCost Decimal(18, 12),
    OldOutputCost Decimal(18, 12),
    OldOtherCost Decimal(18, 12),
    OldTotalCost Decimal(18, 12),
    OldCacheSavings Decimal(18, 12),
    NewInputCost Decimal(18, 12),
    NewCacheReadCost Decimal(18, 12),
    NewCacheWriteCost Decimal(18, 12),
    NewOutputCost Decimal(18, 12),
    NewOtherCost Decimal(18, 12),
    NewTotalCost Decimal(18, 12),
    NewCacheSavings Decimal(18, 12)
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(Timestamp)
ORDER BY (TraceId, SpanId, NewVersion)
TTL toDateTime(Timestamp) + toIntervalDay(400)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000;

-- One row per run (the latest state wins): when, why, with which prices, over what, and the old and new totals.
CREATE TABLE IF NOT EXISTS {database}.llm_repricing_runs
(
    RunId String,
    StartedAt DateTime64(3),
    UpdatedAt DateTime64(3) DEFAULT now64(3),
    Status LowCardinality(String),
    Reason String,
    PriceSource String,
    Since DateTime64(9),
    Until DateTime64(9),
    ModelGlob String,
    Calls UInt64,
    OldTotal Decimal(38, 12),
    NewTotal Decimal(38, 12),
    Host String,
    Command String
)
ENGINE = ReplacingMergeTree(UpdatedAt)
ORDER BY RunId
SETTINGS index_granularity = 8192;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.llm_usage_hourly_repricing_mv TO {database}.llm_usage_hourly AS
SELECT
    Tenant,
    toStartOfHour(Timestamp) AS Hour,
    ServiceName,
    Environment,
    Feature,
    Provider,
    Model,
    Operation,
    toUInt64(0) AS Calls,
    toUInt64(0) AS ErrorCalls,
    toUInt64(sum(toInt64(NewCostSource = 'unpriced') - toInt64(OldCostSource = 'unpriced'))) AS UnpricedCalls,
    toUInt64(0) AS IncompleteUsageCalls,
    toUInt64(0) AS InputTokens,
    toUInt64(0) AS OutputTokens,
    toUInt64(0) AS CacheReadInputTokens,
    toUInt64(0) AS CacheCreationInputTokens,
    toUInt64(0) AS ReasoningOutputTokens,
    sum(toDecimal128(NewInputCost, 12) - OldInputCost) AS InputCost,
    sum(toDecimal128(NewCacheReadCost, 12) - OldCacheReadCost) AS CacheReadCost,
    sum(toDecimal128(NewCacheWriteCost, 12) - OldCacheWriteCost) AS CacheWriteCost,
    sum(toDecimal128(NewOutputCost, 12) - OldOutputCost) AS OutputCost,
    sum(toDecimal128(NewOtherCost, 12) - OldOtherCost) AS OtherCost,
    sum(toDecimal128(NewTotalCost, 12) - OldTotalCost) AS TotalCost,
    sum(toDecimal128(NewCacheSavings, 12) - OldCacheSavings) AS CacheSavings,
    uniqStateIf(UserId, false) AS Users,
    uniqStateIf(TraceId, false) AS Traces,
    quantilesTDigestStateIf(0.5, 0.95, 0.99)(toFloat64(0), false) AS DurationMs
FROM {database}.llm_call_repricings
GROUP BY Tenant, Hour, ServiceName, Environment, Feature, Provider, Model, Operation;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.llm_usage_daily_user_repricing_mv TO {database}.llm_usage_daily_user AS
SELECT
    Tenant,
    toDate(Timestamp) AS Day,
    UserId,
    ServiceName,
    Feature,
    Model,
    toUInt64(0) AS Calls,
    toUInt64(0) AS ErrorCalls,
    toUInt64(0) AS InputTokens,
    toUInt64(0) AS OutputTokens,
    toUInt64(0) AS CacheReadInputTokens,
    toDecimal128(NewTotalCost, 12) - OldTotalCost AS TotalCost,
    toDecimal128(NewCacheSavings, 12) - OldCacheSavings AS CacheSavings
FROM {database}.llm_call_repricings;

-- Start and End are the call's own start (no earlier than the trace's start, no later than its end), the
-- models and the names empty: min, max and the union of models are left as they were.
CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.llm_trace_costs_repricing_mv TO {database}.llm_trace_costs AS
SELECT
    Tenant,
    toDate(Timestamp) AS Day,
    TraceId,
    Timestamp AS Start,
    Timestamp AS End,
    toUInt64(0) AS Calls,
    toUInt64(0) AS ErrorCalls,
    toUInt64(toInt64(NewCostSource = 'unpriced') - toInt64(OldCostSource = 'unpriced')) AS UnpricedCalls,
    toUInt64(0) AS InputTokens,
    toUInt64(0) AS OutputTokens,
    toDecimal128(NewTotalCost, 12) - OldTotalCost AS TotalCost,
    toDecimal128(NewCacheSavings, 12) - OldCacheSavings AS CacheSavings,
    CAST([], 'Array(String)') AS Models,
    '' AS ServiceName,
    '' AS UserId,
    '' AS SessionId,
    '' AS Feature
FROM {database}.llm_call_repricings;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.llm_budget_usage_repricing_mv TO {database}.llm_budget_usage AS
SELECT
    toStartOfFifteenMinutes(Timestamp) AS Bucket,
    Tenant,
    ServiceName,
    Feature,
    UserId,
    Model,
    toUInt64(0) AS Calls,
    toDecimal128(NewTotalCost, 12) - OldTotalCost AS TotalCost
FROM {database}.llm_call_repricings;
