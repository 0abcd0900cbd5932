-- SPDX-License-Identifier: Apache-2.0
-- The first, partial day of a window by the hour, for the three questions the hourly rollup cannot answer:
--   llm_waste_hourly            `wasted_spend`: failed calls and their cost, unpriced calls with usage and their
--                               tokens, calls without usage, per tenant, hour, provider and model;
--   llm_session_costs_hourly    `session_costs`: llm_session_costs (0019) by the hour;
--   llm_attribute_costs_hourly  `spend_by_attribute`: llm_attribute_costs (0020) by the hour.
-- Those queries read their day rollups for the whole days of a window and llm_calls FINAL for its first day,
-- which starts at an instant; llm_calls is ordered by day, not by time within it, so that part read the whole
-- day's calls, a share that grows with the calls a day. They now start their window at the hour, as every other
-- named query does, and read its first day from these tables: rows grow with the groups busy each hour, never
-- with the calls in them.
--
-- Every column means what it means in llm_usage_daily (0018), llm_session_costs and llm_attribute_costs, and
-- each table is kept as they are: a view of the calls as first stored (RepricedBy = ''), a twin view moving it by
-- new − old from the journal llm_call_repricings (re-pricings and merged records, 0009, 0015), and a view
-- subtracting what a delivery taken back added (llm_call_retractions, 0021). The calls stored before this
-- migration are copied once, exactly, as migration 0018 explains: the views count from their cut-off on, the
-- copy what came before it. The retraction view takes back only deliveries stamped from the calls' view's
-- cut-off on ({cutoff:<view>}): the copy reads llm_calls FINAL, where a call delivered twice is one row already.

CREATE TABLE IF NOT EXISTS {database}.llm_waste_hourly
(
    Tenant LowCardinality(String),
    Hour DateTime CODEC(Delta(4), ZSTD(1)),
    Provider LowCardinality(String),
    Model LowCardinality(String),

    Calls SimpleAggregateFunction(sum, UInt64),
    ErrorCalls SimpleAggregateFunction(sum, UInt64),
    FailedCost SimpleAggregateFunction(sum, Decimal(38, 12)),
    UnpricedUsageCalls SimpleAggregateFunction(sum, UInt64),
    UnpricedTokens SimpleAggregateFunction(sum, UInt64),
    IncompleteUsageCalls SimpleAggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(Hour)
ORDER BY (Tenant, Hour, Provider, Model)
TTL Hour + toIntervalDay(800)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS {database}.llm_session_costs_hourly
(
    Tenant LowCardinality(String),
    Hour DateTime CODEC(Delta(4), ZSTD(1)),
    SessionId String,

    TotalCost SimpleAggregateFunction(sum, Decimal(38, 12)),
    Calls SimpleAggregateFunction(sum, UInt64),
    Traces AggregateFunction(uniqExact, String),
    FirstCall SimpleAggregateFunction(min, DateTime64(9)),
    LastCall SimpleAggregateFunction(max, DateTime64(9))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(Hour)
ORDER BY (Tenant, Hour, SessionId)
TTL Hour + toIntervalDay(400)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS {database}.llm_attribute_costs_hourly
(
    Tenant LowCardinality(String),
    Hour DateTime CODEC(Delta(4), ZSTD(1)),
    Key LowCardinality(String),
    Value String,

    TotalCost SimpleAggregateFunction(sum, Decimal(38, 12)),
    Calls SimpleAggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(Hour)
ORDER BY (Tenant, Key, Hour, Value)
TTL Hour + toIntervalDay(400)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000;

-- The calls as first stored, from the cut-off on.
CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.llm_waste_hourly_mv TO {database}.llm_waste_hourly AS
SELECT
    Tenant,
    toStartOfHour(Timestamp) AS Hour,
    Provider,
    Model,
    count() AS Calls,
    countIf(FailedCall) AS ErrorCalls,
    sumIf(toDecimal128(TotalCost, 12), FailedCall) AS FailedCost,
    countIf(CostSource = 'unpriced' AND UsageComplete) AS UnpricedUsageCalls,
    sumIf(toUInt64(InputTokens) + OutputTokens, CostSource = 'unpriced' AND UsageComplete) AS UnpricedTokens,
    countIf(NOT UsageComplete) AS IncompleteUsageCalls
FROM
(
    SELECT *, StatusCode IN ('Error', 'STATUS_CODE_ERROR') OR ErrorType != '' AS FailedCall
    FROM {database}.llm_calls
    WHERE RepricedBy = '' AND IngestedAt >= {cutoff}
)
GROUP BY Tenant, Hour, Provider, Model;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.llm_session_costs_hourly_mv TO {database}.llm_session_costs_hourly AS
SELECT
    Tenant,
    toStartOfHour(Timestamp) AS Hour,
    SessionId,
    sum(TotalCost) AS TotalCost,
    count() AS Calls,
    uniqExactState(TraceId) AS Traces,
    min(Timestamp) AS FirstCall,
    max(Timestamp) AS LastCall
FROM {database}.llm_calls
WHERE RepricedBy = '' AND SessionId != '' AND IngestedAt >= {cutoff}
GROUP BY Tenant, Hour, SessionId;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.llm_attribute_costs_hourly_mv TO {database}.llm_attribute_costs_hourly AS
SELECT
    Tenant,
    toStartOfHour(Timestamp) AS Hour,
    attribute.1 AS Key,
    attribute.2 AS Value,
    sum(TotalCost) AS TotalCost,
    count() AS Calls
FROM {database}.llm_calls
ARRAY JOIN arrayZip(mapKeys(Attributes), mapValues(Attributes)) AS attribute
WHERE RepricedBy = '' AND attribute.2 != '' AND IngestedAt >= {cutoff}
GROUP BY Tenant, Hour, Key, Value;

-- The journal's changes, from the cut-off on: new − old (counts as two's complement, as migration 0009 explains).
CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.llm_waste_hourly_repricing_mv TO {database}.llm_waste_hourly AS
SELECT
    Tenant,
    toStartOfHour(Timestamp) AS Hour,
    Provider,
    Model,
    toUInt64(0) AS Calls,
    toUInt64(0) AS ErrorCalls,
    sumIf(toDecimal128(NewTotalCost, 12) - OldTotalCost, Failed) AS FailedCost,
    toUInt64(sum(
        toInt64(NewCostSource = 'unpriced' AND NewUsageComplete) - toInt64(OldCostSource = 'unpriced' AND OldUsageComplete)
    )) AS UnpricedUsageCalls,
    toUInt64(sum(
        toInt64(if(NewCostSource = 'unpriced' AND NewUsageComplete, NewInputTokens + NewOutputTokens, 0))
        - toInt64(if(OldCostSource = 'unpriced' AND OldUsageComplete, OldInputTokens + OldOutputTokens, 0))
    )) AS UnpricedTokens,
    toUInt64(sum(toInt64(NOT NewUsageComplete) - toInt64(NOT OldUsageComplete))) AS IncompleteUsageCalls
FROM {database}.llm_call_repricings
WHERE RepricedAt >= {cutoff}
GROUP BY Tenant, Hour, Provider, Model;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.llm_session_costs_hourly_repricing_mv TO {database}.llm_session_costs_hourly AS
SELECT
    Tenant,
    toStartOfHour(Timestamp) AS Hour,
    SessionId,
    sum(toDecimal128(NewTotalCost, 12) - OldTotalCost) AS TotalCost,
    toUInt64(0) AS Calls,
    uniqExactStateIf(TraceId, false) AS Traces,
    min(Timestamp) AS FirstCall,
    max(Timestamp) AS LastCall
FROM {database}.llm_call_repricings
WHERE SessionId != '' AND RepricedAt >= {cutoff}
GROUP BY Tenant, Hour, SessionId;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.llm_attribute_costs_hourly_repricing_mv TO {database}.llm_attribute_costs_hourly AS
SELECT
    Tenant,
    toStartOfHour(Timestamp) AS Hour,
    attribute.1 AS Key,
    attribute.2 AS Value,
    sum(toDecimal128(NewTotalCost, 12) - OldTotalCost) AS TotalCost,
    toUInt64(0) AS Calls
FROM {database}.llm_call_repricings
ARRAY JOIN arrayZip(mapKeys(Attributes), mapValues(Attributes)) AS attribute
WHERE attribute.2 != '' AND RepricedAt >= {cutoff}
GROUP BY Tenant, Hour, Key, Value;

-- Deliveries taken back (0021), of those the calls' view counted: what it added, subtracted.
CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.llm_waste_hourly_retraction_mv TO {database}.llm_waste_hourly AS
SELECT
    Tenant,
    toStartOfHour(Timestamp) AS Hour,
    Provider,
    Model,
    toUInt64(-count()) AS Calls,
    toUInt64(-countIf(FailedCall)) AS ErrorCalls,
    -sumIf(toDecimal128(TotalCost, 12), FailedCall) AS FailedCost,
    toUInt64(-countIf(CostSource = 'unpriced' AND UsageComplete)) AS UnpricedUsageCalls,
    toUInt64(-sumIf(toInt64(InputTokens) + OutputTokens, CostSource = 'unpriced' AND UsageComplete)) AS UnpricedTokens,
    toUInt64(-countIf(NOT UsageComplete)) AS IncompleteUsageCalls
FROM
(
    SELECT *, StatusCode IN ('Error', 'STATUS_CODE_ERROR') OR ErrorType != '' AS FailedCall
    FROM {database}.llm_call_retractions
    WHERE IngestedAt >= {cutoff:llm_waste_hourly_mv}
)
GROUP BY Tenant, Hour, Provider, Model;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.llm_session_costs_hourly_retraction_mv TO {database}.llm_session_costs_hourly AS
SELECT
    Tenant,
    toStartOfHour(Timestamp) AS Hour,
    SessionId,
    -sum(TotalCost) AS TotalCost,
    toUInt64(-count()) AS Calls,
    uniqExactStateIf(TraceId, false) AS Traces,
    min(Timestamp) AS FirstCall,
    max(Timestamp) AS LastCall
FROM {database}.llm_call_retractions
WHERE SessionId != '' AND IngestedAt >= {cutoff:llm_session_costs_hourly_mv}
GROUP BY Tenant, Hour, SessionId;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.llm_attribute_costs_hourly_retraction_mv TO {database}.llm_attribute_costs_hourly AS
SELECT
    Tenant,
    toStartOfHour(Timestamp) AS Hour,
    attribute.1 AS Key,
    attribute.2 AS Value,
    -sum(TotalCost) AS TotalCost,
    toUInt64(-count()) AS Calls
FROM {database}.llm_call_retractions
ARRAY JOIN arrayZip(mapKeys(Attributes), mapValues(Attributes)) AS attribute
WHERE attribute.2 != '' AND IngestedAt >= {cutoff:llm_attribute_costs_hourly_mv}
GROUP BY Tenant, Hour, Key, Value;

-- The calls stored before the cut-off, as first stored, and the journal's changes before it.
INSERT INTO {database}.llm_waste_hourly
SELECT
    Tenant,
    toStartOfHour(Timestamp) AS Hour,
    Provider,
    Model,
    count() AS Calls,
    countIf(FailedCall) AS ErrorCalls,
    sumIf(toDecimal128(TotalCost, 12), FailedCall) AS FailedCost,
    countIf(CostSource = 'unpriced' AND UsageComplete) AS UnpricedUsageCalls,
    sumIf(toUInt64(InputTokens) + OutputTokens, CostSource = 'unpriced' AND UsageComplete) AS UnpricedTokens,
    countIf(NOT UsageComplete) AS IncompleteUsageCalls
FROM
(
    SELECT *, StatusCode IN ('Error', 'STATUS_CODE_ERROR') OR ErrorType != '' AS FailedCall
    FROM {database}.llm_calls FINAL
    PREWHERE RepricedBy = '' AND IngestedAt < {cutoff:llm_waste_hourly_mv}
    WHERE NOT (
        SELECT argMax(Done, UpdatedAt) FROM {database}.llmledger_backfills WHERE Name = '0022_llm_waste_hourly'
    )
)
GROUP BY Tenant, Hour, Provider, Model
SETTINGS insert_deduplication_token = '0022_llm_waste_hourly', max_insert_threads = 1;

INSERT INTO {database}.llm_waste_hourly
SELECT
    Tenant,
    toStartOfHour(Timestamp) AS Hour,
    Provider,
    Model,
    toUInt64(0) AS Calls,
    toUInt64(0) AS ErrorCalls,
    sumIf(toDecimal128(NewTotalCost, 12) - OldTotalCost, Failed) AS FailedCost,
    toUInt64(sum(
        toInt64(NewCostSource = 'unpriced' AND NewUsageComplete) - toInt64(OldCostSource = 'unpriced' AND OldUsageComplete)
    )) AS UnpricedUsageCalls,
    toUInt64(sum(
        toInt64(if(NewCostSource = 'unpriced' AND NewUsageComplete, NewInputTokens + NewOutputTokens, 0))
        - toInt64(if(OldCostSource = 'unpriced' AND OldUsageComplete, OldInputTokens + OldOutputTokens, 0))
    )) AS UnpricedTokens,
    toUInt64(sum(toInt64(NOT NewUsageComplete) - toInt64(NOT OldUsageComplete))) AS IncompleteUsageCalls
FROM {database}.llm_call_repricings
WHERE RepricedAt < {cutoff:llm_waste_hourly_repricing_mv}
  AND NOT (SELECT argMax(Done, UpdatedAt) FROM {database}.llmledger_backfills WHERE Name = '0022_llm_waste_hourly')
GROUP BY Tenant, Hour, Provider, Model
SETTINGS insert_deduplication_token = '0022_llm_waste_hourly_repricings', max_insert_threads = 1;

INSERT INTO {database}.llmledger_backfills (Name, Cutoff, Done)
SELECT '0022_llm_waste_hourly', {cutoff:llm_waste_hourly_mv}, true
WHERE NOT (SELECT argMax(Done, UpdatedAt) FROM {database}.llmledger_backfills WHERE Name = '0022_llm_waste_hourly');

INSERT INTO {database}.llm_session_costs_hourly
SELECT
    Tenant,
    toStartOfHour(Timestamp) AS Hour,
    SessionId,
    sum(TotalCost) AS TotalCost,
    count() AS Calls,
    uniqExactState(TraceId) AS Traces,
    min(Timestamp) AS FirstCall,
    max(Timestamp) AS LastCall
FROM {database}.llm_calls FINAL
PREWHERE RepricedBy = '' AND IngestedAt < {cutoff:llm_session_costs_hourly_mv}
WHERE SessionId != ''
  AND NOT (
    SELECT argMax(Done, UpdatedAt) FROM {database}.llmledger_backfills WHERE Name = '0022_llm_session_costs_hourly'
  )
GROUP BY Tenant, Hour, SessionId
SETTINGS insert_deduplication_token = '0022_llm_session_costs_hourly', max_insert_threads = 1;

INSERT INTO {database}.llm_session_costs_hourly
SELECT
    Tenant,
    toStartOfHour(Timestamp) AS Hour,
    SessionId,
    sum(toDecimal128(NewTotalCost, 12) - OldTotalCost) AS TotalCost,
    toUInt64(0) AS Calls,
    uniqExactStateIf(TraceId, false) AS Traces,
    min(Timestamp) AS FirstCall,
    max(Timestamp) AS LastCall
FROM {database}.llm_call_repricings
WHERE SessionId != '' AND RepricedAt < {cutoff:llm_session_costs_hourly_repricing_mv}
  AND NOT (
    SELECT argMax(Done, UpdatedAt) FROM {database}.llmledger_backfills WHERE Name = '0022_llm_session_costs_hourly'
  )
GROUP BY Tenant, Hour, SessionId
SETTINGS insert_deduplication_token = '0022_llm_session_costs_hourly_repricings', max_insert_threads = 1;

INSERT INTO {database}.llmledger_backfills (Name, Cutoff, Done)
SELECT '0022_llm_session_costs_hourly', {cutoff:llm_session_costs_hourly_mv}, true
WHERE NOT (
    SELECT argMax(Done, UpdatedAt) FROM {database}.llmledger_backfills WHERE Name = '0022_llm_session_costs_hourly'
);

INSERT INTO {database}.llm_attribute_costs_hourly
SELECT
    Tenant,
    toStartOfHour(Timestamp) AS Hour,
    attribute.1 AS Key,
    attribute.2 AS Value,
    sum(TotalCost) AS TotalCost,
    count() AS Calls
FROM {database}.llm_calls FINAL
ARRAY JOIN arrayZip(mapKeys(Attributes), mapValues(Attributes)) AS attribute
PREWHERE RepricedBy = '' AND IngestedAt < {cutoff:llm_attribute_costs_hourly_mv}
WHERE attribute.2 != ''
  AND NOT (
    SELECT argMax(Done, UpdatedAt) FROM {database}.llmledger_backfills WHERE Name = '0022_llm_attribute_costs_hourly'
  )
GROUP BY Tenant, Hour, Key, Value
SETTINGS insert_deduplication_token = '0022_llm_attribute_costs_hourly', max_insert_threads = 1;

INSERT INTO {database}.llm_attribute_costs_hourly
SELECT
    Tenant,
    toStartOfHour(Timestamp) AS Hour,
    attribute.1 AS Key,
    attribute.2 AS Value,
    sum(toDecimal128(NewTotalCost, 12) - OldTotalCost) AS TotalCost,
    toUInt64(0) AS Calls
FROM {database}.llm_call_repricings
ARRAY JOIN arrayZip(mapKeys(Attributes), mapValues(Attributes)) AS attribute
WHERE attribute.2 != '' AND RepricedAt < {cutoff:llm_attribute_costs_hourly_repricing_mv}
  AND NOT (
    SELECT argMax(Done, UpdatedAt) FROM {database}.llmledger_backfills WHERE Name = '0022_llm_attribute_costs_hourly'
  )
GROUP BY Tenant, Hour, Key, Value
SETTINGS insert_deduplication_token = '0022_llm_attribute_costs_hourly_repricings', max_insert_threads = 1;

INSERT INTO {database}.llmledger_backfills (Name, Cutoff, Done)
SELECT '0022_llm_attribute_costs_hourly', {cutoff:llm_attribute_costs_hourly_mv}, true
WHERE NOT (
    SELECT argMax(Done, UpdatedAt) FROM {database}.llmledger_backfills WHERE Name = '0022_llm_attribute_costs_hourly'
);
