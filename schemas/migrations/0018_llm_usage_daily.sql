-- SPDX-License-Identifier: Apache-2.0
-- llm_usage_daily: the hourly rollup's groups by day, so the questions over days read one row per day and group,
-- not one per hour (a group busy every hour has 24 times fewer rows; rows grow with the groups, never with the
-- calls). The named queries read it for the whole days of their window and llm_usage_hourly (or llm_calls, for
-- windows that start at an instant) for the first, partial day, so their answers are those of the hourly rollup to
-- the last digit. It also holds what `wasted_spend` asks: the cost of failed calls, and the calls and tokens of
-- unpriced calls whose usage is complete.
--
-- No latency quantiles here: no question over days reads them, and their states are most of a rollup's size.
-- Users and Traces are uniq states as in the hourly rollup (merged over a day they hold the same set).
--
-- Like every rollup of llm_calls its view skips re-priced rows (`RepricedBy != ''`, migration 0010) and a twin
-- view moves it by new − old from the journal llm_call_repricings (migration 0009): costs, UnpricedCalls, and the
-- tokens by New − Old. The journal's token columns are added here as migration 0015 adds them (identical
-- definitions, IF NOT EXISTS), so the two do not depend on each other's order. A journal row also says whether
-- the call failed and whether its usage was complete before and after (Failed, OldUsageComplete,
-- NewUsageComplete), which `wasted_spend`'s columns need; a writer that leaves them to their defaults says the
-- call did not fail and its usage was complete. Unsigned sums take a negative change as 0009 explains (two's
-- complement, the sums wrap back to the exact value).
--
-- Calls stored before this migration are copied once, exactly, while collectors may be inserting
-- (collector/exporters/clickhouse/backfills.py):
--   1. each view counts only rows stamped at or after its cut-off ({cutoff}: a moment the runner sets a little
--      ahead of the server's clock, so the view exists before it): the calls inserted from then on, and the
--      journal rows written from then on;
--   2. the copy counts the rest: the calls stamped before the cut-off (IngestedAt, set by the server as an insert
--      starts) as they were first stored (PREWHERE RepricedBy = '', before FINAL merges a call's versions: a
--      re-sent call collapses to one row), and the journal rows written before it (RepricedAt), which move the
--      rollup by new − old exactly as the twin view would have. The runner runs it once the server's clock has
--      passed the cut-off and every insert that started before it has ended, so nothing it must see is still on
--      its way;
--   3. llmledger_backfills records that the copy is done; a re-run after that copies nothing, and a copy repeated
--      before the record was written is dropped by its insert_deduplication_token (within the deduplication
--      window).
-- Each copy reads its own view's cut-off ({cutoff:<view>}, from the view's definition), so a view created by an
-- interrupted run, or by another collector applying this migration at the same moment, is matched by its copy.
-- Migrations run when a collector starts, before it accepts spans: only other collectors can be writing then.

ALTER TABLE {database}.llm_call_repricings ADD COLUMN IF NOT EXISTS OldInputTokens UInt64 DEFAULT 0;
ALTER TABLE {database}.llm_call_repricings ADD COLUMN IF NOT EXISTS NewInputTokens UInt64 DEFAULT 0;
ALTER TABLE {database}.llm_call_repricings ADD COLUMN IF NOT EXISTS OldOutputTokens UInt64 DEFAULT 0;
ALTER TABLE {database}.llm_call_repricings ADD COLUMN IF NOT EXISTS NewOutputTokens UInt64 DEFAULT 0;
ALTER TABLE {database}.llm_call_repricings ADD COLUMN IF NOT EXISTS OldCacheReadInputTokens UInt64 DEFAULT 0;
ALTER TABLE {database}.llm_call_repricings ADD COLUMN IF NOT EXISTS NewCacheReadInputTokens UInt64 DEFAULT 0;
ALTER TABLE {database}.llm_call_repricings ADD COLUMN IF NOT EXISTS OldCacheCreationInputTokens UInt64 DEFAULT 0;
ALTER TABLE {database}.llm_call_repricings ADD COLUMN IF NOT EXISTS NewCacheCreationInputTokens UInt64 DEFAULT 0;
ALTER TABLE {database}.llm_call_repricings ADD COLUMN IF NOT EXISTS OldReasoningOutputTokens UInt64 DEFAULT 0;
ALTER TABLE {database}.llm_call_repricings ADD COLUMN IF NOT EXISTS NewReasoningOutputTokens UInt64 DEFAULT 0;
ALTER TABLE {database}.llm_call_repricings ADD COLUMN IF NOT EXISTS Failed Bool DEFAULT false;
ALTER TABLE {database}.llm_call_repricings ADD COLUMN IF NOT EXISTS OldUsageComplete Bool DEFAULT true;
ALTER TABLE {database}.llm_call_repricings ADD COLUMN IF NOT EXISTS NewUsageComplete Bool DEFAULT true;

-- One row per rollup filled from the calls stored before it, once its copy is made: its cut-off, and Done.
CREATE TABLE IF NOT EXISTS {database}.llmledger_backfills
(
    Name String,
    Cutoff DateTime64(3),
    Done Bool DEFAULT false,
    UpdatedAt DateTime64(3) DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(UpdatedAt)
ORDER BY Name;

CREATE TABLE IF NOT EXISTS {database}.llm_usage_daily
(
    Tenant LowCardinality(String),
    Day Date,
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
    -- wasted_spend: the cost of failed calls; unpriced calls whose usage is complete, and their tokens.
    FailedCost SimpleAggregateFunction(sum, Decimal(38, 12)),
    UnpricedUsageCalls SimpleAggregateFunction(sum, UInt64),
    UnpricedTokens SimpleAggregateFunction(sum, UInt64),
    Users AggregateFunction(uniq, String),
    Traces AggregateFunction(uniq, String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(Day)
ORDER BY (Tenant, Day, ServiceName, Environment, Feature, Provider, Model, Operation)
TTL Day + toIntervalDay(800)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.llm_usage_daily_mv TO {database}.llm_usage_daily AS
SELECT
    Tenant,
    toDate(Timestamp) AS Day,
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
    sum(FailedCallCost) AS FailedCost,
    countIf(CostSource = 'unpriced' AND UsageComplete) AS UnpricedUsageCalls,
    sum(UnpricedCallTokens) AS UnpricedTokens,
    uniqStateIf(UserId, UserId != '') AS Users,
    uniqStateIf(TraceId, TraceId != '') AS Traces
FROM
(
    -- Per call, under names no aggregate below takes (an alias would shadow the column it sums).
    SELECT
        *,
        if(StatusCode IN ('Error', 'STATUS_CODE_ERROR') OR ErrorType != '', toDecimal128(TotalCost, 12), toDecimal128(0, 12)) AS FailedCallCost,
        if(CostSource = 'unpriced' AND UsageComplete, toUInt64(InputTokens) + OutputTokens, toUInt64(0)) AS UnpricedCallTokens
    FROM {database}.llm_calls
    WHERE RepricedBy = '' AND IngestedAt >= {cutoff}
)
GROUP BY Tenant, Day, ServiceName, Environment, Feature, Provider, Model, Operation;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.llm_usage_daily_repricing_mv TO {database}.llm_usage_daily AS
SELECT
    Tenant,
    toDate(Timestamp) AS Day,
    ServiceName,
    Environment,
    Feature,
    Provider,
    Model,
    Operation,
    toUInt64(0) AS Calls,
    toUInt64(0) AS ErrorCalls,
    toUInt64(sum(toInt64(NewCostSource = 'unpriced') - toInt64(OldCostSource = 'unpriced'))) AS UnpricedCalls,
    toUInt64(sum(toInt64(NOT NewUsageComplete) - toInt64(NOT OldUsageComplete))) AS IncompleteUsageCalls,
    toUInt64(sum(toInt64(NewInputTokens) - toInt64(OldInputTokens))) AS InputTokens,
    toUInt64(sum(toInt64(NewOutputTokens) - toInt64(OldOutputTokens))) AS OutputTokens,
    toUInt64(sum(toInt64(NewCacheReadInputTokens) - toInt64(OldCacheReadInputTokens))) AS CacheReadInputTokens,
    toUInt64(sum(toInt64(NewCacheCreationInputTokens) - toInt64(OldCacheCreationInputTokens))) AS CacheCreationInputTokens,
    toUInt64(sum(toInt64(NewReasoningOutputTokens) - toInt64(OldReasoningOutputTokens))) AS ReasoningOutputTokens,
    sum(toDecimal128(NewInputCost, 12) - OldInputCost) AS InputCost,
    sum(toDecimal128(NewCacheReadCost, 12) - OldCacheReadCost) AS CacheReadCost,
    sum(toDecimal128(NewCacheWriteCost, 12) - OldCacheWriteCost) AS CacheWriteCost,
    sum(toDecimal128(NewOutputCost, 12) - OldOutputCost) AS OutputCost,
    sum(toDecimal128(NewOtherCost, 12) - OldOtherCost) AS OtherCost,
    sum(toDecimal128(NewTotalCost, 12) - OldTotalCost) AS TotalCost,
    sum(toDecimal128(NewCacheSavings, 12) - OldCacheSavings) AS CacheSavings,
    sumIf(toDecimal128(NewTotalCost, 12) - OldTotalCost, Failed) AS FailedCost,
    toUInt64(sum(
        toInt64(NewCostSource = 'unpriced' AND NewUsageComplete) - toInt64(OldCostSource = 'unpriced' AND OldUsageComplete)
    )) AS UnpricedUsageCalls,
    toUInt64(sum(
        toInt64(if(NewCostSource = 'unpriced' AND NewUsageComplete, NewInputTokens + NewOutputTokens, 0))
        - toInt64(if(OldCostSource = 'unpriced' AND OldUsageComplete, OldInputTokens + OldOutputTokens, 0))
    )) AS UnpricedTokens,
    uniqStateIf(UserId, false) AS Users,
    uniqStateIf(TraceId, false) AS Traces
FROM {database}.llm_call_repricings
WHERE RepricedAt >= {cutoff}
GROUP BY Tenant, Day, ServiceName, Environment, Feature, Provider, Model, Operation;

-- The calls stored before the cut-off, as first stored.
INSERT INTO {database}.llm_usage_daily
SELECT
    Tenant,
    toDate(Timestamp) AS Day,
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
    sum(FailedCallCost) AS FailedCost,
    countIf(CostSource = 'unpriced' AND UsageComplete) AS UnpricedUsageCalls,
    sum(UnpricedCallTokens) AS UnpricedTokens,
    uniqStateIf(UserId, UserId != '') AS Users,
    uniqStateIf(TraceId, TraceId != '') AS Traces
FROM
(
    -- Per call, under names no aggregate below takes (an alias would shadow the column it sums).
    SELECT
        *,
        if(StatusCode IN ('Error', 'STATUS_CODE_ERROR') OR ErrorType != '', toDecimal128(TotalCost, 12), toDecimal128(0, 12)) AS FailedCallCost,
        if(CostSource = 'unpriced' AND UsageComplete, toUInt64(InputTokens) + OutputTokens, toUInt64(0)) AS UnpricedCallTokens
    FROM {database}.llm_calls FINAL
    PREWHERE RepricedBy = '' AND IngestedAt < {cutoff:llm_usage_daily_mv}
    WHERE NOT (
        SELECT argMax(Done, UpdatedAt) FROM {database}.llmledger_backfills WHERE Name = '0018_llm_usage_daily'
    )
)
GROUP BY Tenant, Day, ServiceName, Environment, Feature, Provider, Model, Operation
SETTINGS insert_deduplication_token = '0018_llm_usage_daily', max_insert_threads = 1;

-- The changes the journal made to those calls before its view's cut-off.
INSERT INTO {database}.llm_usage_daily
SELECT
    Tenant,
    toDate(Timestamp) AS Day,
    ServiceName,
    Environment,
    Feature,
    Provider,
    Model,
    Operation,
    toUInt64(0) AS Calls,
    toUInt64(0) AS ErrorCalls,
    toUInt64(sum(toInt64(NewCostSource = 'unpriced') - toInt64(OldCostSource = 'unpriced'))) AS UnpricedCalls,
    toUInt64(sum(toInt64(NOT NewUsageComplete) - toInt64(NOT OldUsageComplete))) AS IncompleteUsageCalls,
    toUInt64(sum(toInt64(NewInputTokens) - toInt64(OldInputTokens))) AS InputTokens,
    toUInt64(sum(toInt64(NewOutputTokens) - toInt64(OldOutputTokens))) AS OutputTokens,
    toUInt64(sum(toInt64(NewCacheReadInputTokens) - toInt64(OldCacheReadInputTokens))) AS CacheReadInputTokens,
    toUInt64(sum(toInt64(NewCacheCreationInputTokens) - toInt64(OldCacheCreationInputTokens))) AS CacheCreationInputTokens,
    toUInt64(sum(toInt64(NewReasoningOutputTokens) - toInt64(OldReasoningOutputTokens))) AS ReasoningOutputTokens,
    sum(toDecimal128(NewInputCost, 12) - OldInputCost) AS InputCost,
    sum(toDecimal128(NewCacheReadCost, 12) - OldCacheReadCost) AS CacheReadCost,
    sum(toDecimal128(NewCacheWriteCost, 12) - OldCacheWriteCost) AS CacheWriteCost,
    sum(toDecimal128(NewOutputCost, 12) - OldOutputCost) AS OutputCost,
    sum(toDecimal128(NewOtherCost, 12) - OldOtherCost) AS OtherCost,
    sum(toDecimal128(NewTotalCost, 12) - OldTotalCost) AS TotalCost,
    sum(toDecimal128(NewCacheSavings, 12) - OldCacheSavings) AS CacheSavings,
    sumIf(toDecimal128(NewTotalCost, 12) - OldTotalCost, Failed) AS FailedCost,
    toUInt64(sum(
        toInt64(NewCostSource = 'unpriced' AND NewUsageComplete) - toInt64(OldCostSource = 'unpriced' AND OldUsageComplete)
    )) AS UnpricedUsageCalls,
    toUInt64(sum(
        toInt64(if(NewCostSource = 'unpriced' AND NewUsageComplete, NewInputTokens + NewOutputTokens, 0))
        - toInt64(if(OldCostSource = 'unpriced' AND OldUsageComplete, OldInputTokens + OldOutputTokens, 0))
    )) AS UnpricedTokens,
    uniqStateIf(UserId, false) AS Users,
    uniqStateIf(TraceId, false) AS Traces
FROM {database}.llm_call_repricings
WHERE RepricedAt < {cutoff:llm_usage_daily_repricing_mv}
  AND NOT (
    SELECT argMax(Done, UpdatedAt) FROM {database}.llmledger_backfills WHERE Name = '0018_llm_usage_daily'
  )
GROUP BY Tenant, Day, ServiceName, Environment, Feature, Provider, Model, Operation
SETTINGS insert_deduplication_token = '0018_llm_usage_daily_repricings', max_insert_threads = 1;

INSERT INTO {database}.llmledger_backfills (Name, Cutoff, Done)
SELECT '0018_llm_usage_daily', {cutoff:llm_usage_daily_mv}, true
WHERE NOT (SELECT argMax(Done, UpdatedAt) FROM {database}.llmledger_backfills WHERE Name = '0018_llm_usage_daily');
