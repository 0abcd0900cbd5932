-- SPDX-License-Identifier: Apache-2.0
-- A call delivered to two collectors counted once in every rollup, as it already is in llm_calls FINAL.
--
-- Each collector drops the spans it has already taken (its re-send filter and its call memory), but it knows
-- nothing of the spans another collector took: when an exporter retries through a load balancer, two collectors
-- each store the call. llm_calls collapses the two rows (same ordering key, ReplacingMergeTree), but every rollup's
-- view counted both inserts. So:
--
--   1. llm_call_deliveries keeps, for 7 days, every row inserted into llm_calls as a collector stored it
--      (RepricedBy = ''), with what the rollups read of it and the insert that carried it: Delivery is the
--      insert's deduplication token, `llmledger-<queue id>-<start>-<end>-calls-<n>`, which names the collector by
--      its queue. A plain MergeTree: nothing collapses, so both deliveries of a call stay visible after
--      llm_calls has merged them into one row. A batch retried under the same token is dropped here too.
--   2. Each collector, some time after its inserts (the settle time), sweeps the deliveries it made since its last
--      sweep and records how far it swept in llm_delivery_sweeps: a delivery is decided once its collector's sweep
--      has passed it. It copies its own delivery of a call into llm_call_retractions when another delivery of the
--      call, not itself retracted, came first (a lower Version, then Delivery) or is decided (its collector kept
--      it before this one could be seen: an insert slower than the settle time)
--      (collector/exporters/clickhouse/duplicates.py). Only the collector that made a delivery ever retracts it,
--      one sweep at a time, and the sweep leaves out deliveries already retracted, so exactly one delivery of
--      each call stays counted.
--   3. The views below turn each retraction into the opposite of what the rollups' own views added for that
--      delivery: a call, its errors, unpriced and usage-missing counts, tokens and costs, subtracted (counts and
--      tokens as two's complement UInt64, which the rollups' sums take modulo 2^64 back to the exact total, as
--      migration 0009 does for UnpricedCalls). The sets of users and traces and the session's trace set are
--      unchanged (the twin delivery holds the same user and trace), and so are a trace's or a session's first
--      and last call. A call's latency stays counted twice in the hourly latency quantiles (a t-digest state
--      cannot take a value out).
--
-- Re-pricing and a collector's merges (migrations 0009, 0015) correct the call's one row under FINAL and move the
-- rollups by new − old once, whatever the number of deliveries; a retraction removes what its delivery added, so
-- together they leave every rollup at the sum over llm_calls FINAL.
--
-- On a cluster the deliveries and the retractions are sharded by trace, like llm_calls: both deliveries of a call,
-- and their retraction, are on the shard of its trace (collector/exporters/clickhouse/cluster_schema.py).

CREATE TABLE IF NOT EXISTS {database}.llm_call_deliveries
(
    Timestamp DateTime64(9),
    TraceId String,
    SpanId String,
    Version UInt64,
    Delivery String,
    IngestedAt DateTime64(3),

    Tenant LowCardinality(String),
    ServiceName LowCardinality(String),
    Environment LowCardinality(String),
    Feature LowCardinality(String),
    UserId String,
    SessionId String,
    Provider LowCardinality(String),
    Operation LowCardinality(String),
    Model LowCardinality(String),
    StatusCode LowCardinality(String),
    ErrorType LowCardinality(String),
    UsageComplete Bool,
    CostSource LowCardinality(String),

    InputTokens UInt32,
    OutputTokens UInt32,
    CacheReadInputTokens UInt32,
    CacheCreationInputTokens UInt32,
    ReasoningOutputTokens UInt32,
    InputCost Decimal(18, 12),
    CacheReadCost Decimal(18, 12),
    CacheWriteCost Decimal(18, 12),
    OutputCost Decimal(18, 12),
    OtherCost Decimal(18, 12),
    TotalCost Decimal(18, 12),
    CacheSavings Decimal(18, 12),
    Attributes Map(LowCardinality(String), String),

    INDEX idx_ingested_at IngestedAt TYPE minmax GRANULARITY 1
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(Timestamp)
ORDER BY (Timestamp, TraceId, SpanId)
TTL toDateTime(Timestamp) + toIntervalDay(7)
SETTINGS index_granularity = 8192, non_replicated_deduplication_window = 1000;

-- The same columns: a retraction is the delivery it takes back, copied as it was.
CREATE TABLE IF NOT EXISTS {database}.llm_call_retractions
(
    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    SpanId String CODEC(ZSTD(1)),
    Version UInt64,
    Delivery String CODEC(ZSTD(1)),
    IngestedAt DateTime64(3) CODEC(Delta(8), ZSTD(1)),

    Tenant LowCardinality(String),
    ServiceName LowCardinality(String),
    Environment LowCardinality(String),
    Feature LowCardinality(String),
    UserId String CODEC(ZSTD(1)),
    SessionId String CODEC(ZSTD(1)),
    Provider LowCardinality(String),
    Operation LowCardinality(String),
    Model LowCardinality(String),
    StatusCode LowCardinality(String),
    ErrorType LowCardinality(String),
    UsageComplete Bool,
    CostSource LowCardinality(String),

    InputTokens UInt32,
    OutputTokens UInt32,
    CacheReadInputTokens UInt32,
    CacheCreationInputTokens UInt32,
    ReasoningOutputTokens UInt32,
    InputCost Decimal(18, 12),
    CacheReadCost Decimal(18, 12),
    CacheWriteCost Decimal(18, 12),
    OutputCost Decimal(18, 12),
    OtherCost Decimal(18, 12),
    TotalCost Decimal(18, 12),
    CacheSavings Decimal(18, 12),
    Attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),

    RetractedAt DateTime64(3) DEFAULT now64(3)
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(Timestamp)
ORDER BY (TraceId, SpanId, Version)
TTL toDateTime(Timestamp) + toIntervalDay(400)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000;

-- How far each collector has swept its own deliveries (the latest row of a collector wins).
CREATE TABLE IF NOT EXISTS {database}.llm_delivery_sweeps
(
    Collector String,
    SweptUntil DateTime64(3)
)
ENGINE = ReplacingMergeTree(SweptUntil)
ORDER BY Collector
SETTINGS index_granularity = 8192;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.llm_call_deliveries_mv TO {database}.llm_call_deliveries AS
SELECT
    Timestamp,
    TraceId,
    SpanId,
    Version,
    getSetting('insert_deduplication_token') AS Delivery,
    IngestedAt,
    Tenant,
    ServiceName,
    Environment,
    Feature,
    UserId,
    SessionId,
    Provider,
    Operation,
    Model,
    StatusCode,
    ErrorType,
    UsageComplete,
    CostSource,
    InputTokens,
    OutputTokens,
    CacheReadInputTokens,
    CacheCreationInputTokens,
    ReasoningOutputTokens,
    InputCost,
    CacheReadCost,
    CacheWriteCost,
    OutputCost,
    OtherCost,
    TotalCost,
    CacheSavings,
    Attributes
FROM {database}.llm_calls
WHERE RepricedBy = '';

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.llm_usage_hourly_retraction_mv TO {database}.llm_usage_hourly AS
SELECT
    Tenant,
    toStartOfHour(Timestamp) AS Hour,
    ServiceName,
    Environment,
    Feature,
    Provider,
    Model,
    Operation,
    toUInt64(-count()) AS Calls,
    toUInt64(-countIf(StatusCode IN ('Error', 'STATUS_CODE_ERROR') OR ErrorType != '')) AS ErrorCalls,
    toUInt64(-countIf(CostSource = 'unpriced')) AS UnpricedCalls,
    toUInt64(-countIf(NOT UsageComplete)) AS IncompleteUsageCalls,
    toUInt64(-sum(toInt64(InputTokens))) AS InputTokens,
    toUInt64(-sum(toInt64(OutputTokens))) AS OutputTokens,
    toUInt64(-sum(toInt64(CacheReadInputTokens))) AS CacheReadInputTokens,
    toUInt64(-sum(toInt64(CacheCreationInputTokens))) AS CacheCreationInputTokens,
    toUInt64(-sum(toInt64(ReasoningOutputTokens))) AS ReasoningOutputTokens,
    -sum(InputCost) AS InputCost,
    -sum(CacheReadCost) AS CacheReadCost,
    -sum(CacheWriteCost) AS CacheWriteCost,
    -sum(OutputCost) AS OutputCost,
    -sum(OtherCost) AS OtherCost,
    -sum(TotalCost) AS TotalCost,
    -sum(CacheSavings) AS CacheSavings,
    uniqStateIf(UserId, false) AS Users,
    uniqStateIf(TraceId, false) AS Traces,
    quantilesTDigestStateIf(0.5, 0.95, 0.99)(toFloat64(0), false) AS DurationMs
FROM {database}.llm_call_retractions
GROUP BY Tenant, Hour, ServiceName, Environment, Feature, Provider, Model, Operation;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.llm_usage_daily_user_retraction_mv TO {database}.llm_usage_daily_user AS
SELECT
    Tenant,
    toDate(Timestamp) AS Day,
    UserId,
    ServiceName,
    Feature,
    Model,
    toUInt64(-count()) AS Calls,
    toUInt64(-countIf(StatusCode IN ('Error', 'STATUS_CODE_ERROR') OR ErrorType != '')) AS ErrorCalls,
    toUInt64(-sum(toInt64(InputTokens))) AS InputTokens,
    toUInt64(-sum(toInt64(OutputTokens))) AS OutputTokens,
    toUInt64(-sum(toInt64(CacheReadInputTokens))) AS CacheReadInputTokens,
    -sum(TotalCost) AS TotalCost,
    -sum(CacheSavings) AS CacheSavings
FROM {database}.llm_call_retractions
GROUP BY Tenant, Day, UserId, ServiceName, Feature, Model;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.llm_trace_costs_retraction_mv TO {database}.llm_trace_costs AS
SELECT
    Tenant,
    toDate(Timestamp) AS Day,
    TraceId,
    Timestamp AS Start,
    Timestamp AS End,
    toUInt64(-1) AS Calls,
    toUInt64(-toInt64(StatusCode IN ('Error', 'STATUS_CODE_ERROR') OR ErrorType != '')) AS ErrorCalls,
    toUInt64(-toInt64(CostSource = 'unpriced')) AS UnpricedCalls,
    toUInt64(-toInt64(InputTokens)) AS InputTokens,
    toUInt64(-toInt64(OutputTokens)) AS OutputTokens,
    -toDecimal128(TotalCost, 12) AS TotalCost,
    -toDecimal128(CacheSavings, 12) AS CacheSavings,
    CAST([], 'Array(String)') AS Models,
    '' AS ServiceName,
    '' AS UserId,
    '' AS SessionId,
    '' AS Feature
FROM {database}.llm_call_retractions;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.llm_budget_usage_retraction_mv TO {database}.llm_budget_usage AS
SELECT
    toStartOfFifteenMinutes(Timestamp) AS Bucket,
    Tenant,
    ServiceName,
    Feature,
    UserId,
    Model,
    toUInt64(-count()) AS Calls,
    -sum(TotalCost) AS TotalCost
FROM {database}.llm_call_retractions
GROUP BY Bucket, Tenant, ServiceName, Feature, UserId, Model;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.llm_usage_daily_retraction_mv TO {database}.llm_usage_daily AS
SELECT
    Tenant,
    toDate(Timestamp) AS Day,
    ServiceName,
    Environment,
    Feature,
    Provider,
    Model,
    Operation,
    toUInt64(-count()) AS Calls,
    toUInt64(-countIf(FailedCall)) AS ErrorCalls,
    toUInt64(-countIf(CostSource = 'unpriced')) AS UnpricedCalls,
    toUInt64(-countIf(NOT UsageComplete)) AS IncompleteUsageCalls,
    toUInt64(-sum(toInt64(InputTokens))) AS InputTokens,
    toUInt64(-sum(toInt64(OutputTokens))) AS OutputTokens,
    toUInt64(-sum(toInt64(CacheReadInputTokens))) AS CacheReadInputTokens,
    toUInt64(-sum(toInt64(CacheCreationInputTokens))) AS CacheCreationInputTokens,
    toUInt64(-sum(toInt64(ReasoningOutputTokens))) AS ReasoningOutputTokens,
    -sum(InputCost) AS InputCost,
    -sum(CacheReadCost) AS CacheReadCost,
    -sum(CacheWriteCost) AS CacheWriteCost,
    -sum(OutputCost) AS OutputCost,
    -sum(OtherCost) AS OtherCost,
    -sum(TotalCost) AS TotalCost,
    -sum(CacheSavings) AS CacheSavings,
    -sum(FailedCallCost) AS FailedCost,
    toUInt64(-countIf(CostSource = 'unpriced' AND UsageComplete)) AS UnpricedUsageCalls,
    toUInt64(-sum(UnpricedCallTokens)) AS UnpricedTokens,
    uniqStateIf(UserId, false) AS Users,
    uniqStateIf(TraceId, false) AS Traces
FROM
(
    -- Per call, under names no aggregate below takes (an alias would shadow the column it sums).
    SELECT
        *,
        StatusCode IN ('Error', 'STATUS_CODE_ERROR') OR ErrorType != '' AS FailedCall,
        if(FailedCall, toDecimal128(TotalCost, 12), toDecimal128(0, 12)) AS FailedCallCost,
        if(CostSource = 'unpriced' AND UsageComplete, toInt64(InputTokens) + OutputTokens, toInt64(0)) AS UnpricedCallTokens
    FROM {database}.llm_call_retractions
)
GROUP BY Tenant, Day, ServiceName, Environment, Feature, Provider, Model, Operation;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.llm_session_costs_retraction_mv TO {database}.llm_session_costs AS
SELECT
    Tenant,
    toDate(Timestamp) AS Day,
    SessionId,
    -sum(TotalCost) AS TotalCost,
    toUInt64(-count()) AS Calls,
    uniqExactStateIf(TraceId, false) AS Traces,
    min(Timestamp) AS FirstCall,
    max(Timestamp) AS LastCall
FROM {database}.llm_call_retractions
WHERE SessionId != ''
GROUP BY Tenant, Day, SessionId;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.llm_attribute_costs_retraction_mv TO {database}.llm_attribute_costs AS
SELECT
    Tenant,
    toDate(Timestamp) AS Day,
    attribute.1 AS Key,
    attribute.2 AS Value,
    -sum(TotalCost) AS TotalCost,
    toUInt64(-count()) AS Calls
FROM {database}.llm_call_retractions
ARRAY JOIN arrayZip(mapKeys(Attributes), mapValues(Attributes)) AS attribute
WHERE attribute.2 != ''
GROUP BY Tenant, Day, Key, Value;
