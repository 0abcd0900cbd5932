-- SPDX-License-Identifier: Apache-2.0
-- llm_calls.RepricedBy: the `llmledger reprice` run that wrote a row ('' for a call as the collector stored it),
-- and the rollups' views, replaced by the same views skipping such rows: a re-priced version of a call moves the
-- rollups through llm_call_repricings (migration 0009) by exactly the change in its costs, not by a second call.
--
-- A new view that sums llm_calls into a rollup must skip `RepricedBy != ''` rows too and be fed from
-- llm_call_repricings, or its totals count a re-priced call twice.
--
-- CREATE OR REPLACE, as migration 0007 does and for its reason (atomic, and a retried insert under the same
-- deduplication token is not counted twice); each view reads the same as before for every row the collector
-- writes. Idempotent: adding the column and replacing the views again changes nothing.

ALTER TABLE {database}.llm_calls ADD COLUMN IF NOT EXISTS RepricedBy String DEFAULT '' CODEC(ZSTD(1));

CREATE OR REPLACE MATERIALIZED VIEW {database}.llm_usage_hourly_mv TO {database}.llm_usage_hourly AS
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
WHERE RepricedBy = ''
GROUP BY Tenant, Hour, ServiceName, Environment, Feature, Provider, Model, Operation;

CREATE OR REPLACE MATERIALIZED VIEW {database}.llm_usage_daily_user_mv TO {database}.llm_usage_daily_user AS
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
WHERE RepricedBy = ''
GROUP BY Tenant, Day, UserId, ServiceName, Feature, Model;

CREATE OR REPLACE MATERIALIZED VIEW {database}.llm_trace_costs_mv TO {database}.llm_trace_costs AS
SELECT
    Tenant,
    toDate(Timestamp) AS Day,
    TraceId,
    Timestamp AS Start,
    Timestamp + toIntervalNanosecond(toInt64(DurationMs * 1000000)) AS End,
    toUInt64(1) AS Calls,
    toUInt64(StatusCode IN ('Error', 'STATUS_CODE_ERROR') OR ErrorType != '') AS ErrorCalls,
    toUInt64(CostSource = 'unpriced') AS UnpricedCalls,
    toUInt64(InputTokens) AS InputTokens,
    toUInt64(OutputTokens) AS OutputTokens,
    toDecimal128(TotalCost, 12) AS TotalCost,
    toDecimal128(CacheSavings, 12) AS CacheSavings,
    [toString(Model)] AS Models,
    toString(ServiceName) AS ServiceName,
    UserId,
    SessionId,
    toString(Feature) AS Feature
FROM {database}.llm_calls
WHERE RepricedBy = '';

CREATE OR REPLACE MATERIALIZED VIEW {database}.llm_budget_usage_mv TO {database}.llm_budget_usage AS
SELECT
    toStartOfFifteenMinutes(Timestamp) AS Bucket,
    Tenant,
    ServiceName,
    Feature,
    UserId,
    Model,
    count() AS Calls,
    sum(TotalCost) AS TotalCost
FROM {database}.llm_calls
WHERE RepricedBy = ''
GROUP BY Bucket, Tenant, ServiceName, Feature, UserId, Model;
