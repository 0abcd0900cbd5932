-- SPDX-License-Identifier: Apache-2.0
-- A stored call taking the better record of a span of the same call that arrived later (one row per call,
-- migration 0012): the re-pricing journal (0009, 0010) carries tokens and usage completeness too, and its views
-- move every rollup by the change in them as well as in the costs.
--
-- The collector keeps one row per provider call and folds every other span of the call into it (llm_call_spans).
-- Among spans that arrive together the row kept is the best record (complete usage, then the cost source, then
-- cache tokens, …); when a better one arrives after the row was stored (LangSmith's OTel export or LiteLLM's
-- callback first, llmledger's own span a second later), the row takes that span's usage, costs and cost source
-- as re-pricing corrects a row, never a second row:
--   1. a journal row in llm_call_repricings with RunId 'merge:<trace id>:<span id>' of the span taken, the old and
--      new costs, cost sources, and now tokens and usage completeness; the views below move each rollup by
--      new − old (its calls, users, traces and latencies untouched);
--   2. a new llm_calls version of the row (same ordering key: time, tenant, service, provider, model, trace,
--      span; a higher Version) with that span's InputTokens … ReasoningOutputTokens, UsageComplete, the seven
--      costs, CostSource, PriceId and PricedModel, every other column the row's own, and RepricedBy = the same
--      'merge:<trace id>:<span id>': the rollups' views skip it (0010). The span taken keeps its llm_call_spans
--      row, as every folded span does. A later `llmledger reprice` of the row replaces RepricedBy with its run; the
--      journal keeps the merge.
-- Migration 0012 says a stored row is never replaced; since this migration it keeps its identity and takes the
-- better record as a new version. The journal row is inserted under the writer's batch deduplication token before
-- the version; a batch re-read after a crash finds the row still at its old version, inserts the same journal
-- block again (dropped, in every rollup too) and writes the version; a span delivered again ranks no better than
-- the record the row now holds, and changes nothing (collector/exporters/clickhouse/merged_calls.py).
--
-- Tokens, UsageComplete, Failed and SessionId: a re-pricing fills them with the call's own values, old equal to
-- new, so its rows move no token sum, as before; a merge fills them with the stored record and the better one
-- (Failed: whether the stored call failed, for the rollups that keep the cost of failed calls apart; SessionId:
-- the stored call's session, for the session rollup). The columns are defined exactly as migrations 0018 and 0019
-- define them too (IF NOT EXISTS), so none depends on the others. A token count can go down (a span reporting
-- fewer input tokens than the row, say, when it ranks better for its cost source): the change is stored as a
-- UInt64 in two's complement (−1 as 2^64 − 1), as UnpricedCalls is since 0009, and the rollups' sums, which are
-- taken modulo 2^64, wrap back to the exact total. IncompleteUsageCalls moves by −1 when the row's usage becomes
-- complete.
--
-- The SQL-only deployment (0008, 0013: llm_calls derived from raw spans) keeps every LLM span as a row and
-- folds nothing, so it has nothing to correct either: its duplicate rows are found by CallKey (0013).
--
-- CREATE OR REPLACE, as migrations 0007 and 0010 do and for their reason (atomic, and a retried insert under the
-- same deduplication token is not counted twice). Idempotent: adding the columns and replacing the views again
-- changes nothing.

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
ALTER TABLE {database}.llm_call_repricings ADD COLUMN IF NOT EXISTS SessionId String DEFAULT '';
ALTER TABLE {database}.llm_call_repricings ADD COLUMN IF NOT EXISTS OldUsageComplete Bool DEFAULT true;
ALTER TABLE {database}.llm_call_repricings ADD COLUMN IF NOT EXISTS NewUsageComplete Bool DEFAULT true;

CREATE OR REPLACE MATERIALIZED VIEW {database}.llm_usage_hourly_repricing_mv TO {database}.llm_usage_hourly AS
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
    uniqStateIf(UserId, false) AS Users,
    uniqStateIf(TraceId, false) AS Traces,
    quantilesTDigestStateIf(0.5, 0.95, 0.99)(toFloat64(0), false) AS DurationMs
FROM {database}.llm_call_repricings
GROUP BY Tenant, Hour, ServiceName, Environment, Feature, Provider, Model, Operation;

CREATE OR REPLACE MATERIALIZED VIEW {database}.llm_usage_daily_user_repricing_mv TO {database}.llm_usage_daily_user AS
SELECT
    Tenant,
    toDate(Timestamp) AS Day,
    UserId,
    ServiceName,
    Feature,
    Model,
    toUInt64(0) AS Calls,
    toUInt64(0) AS ErrorCalls,
    toUInt64(toInt64(NewInputTokens) - toInt64(OldInputTokens)) AS InputTokens,
    toUInt64(toInt64(NewOutputTokens) - toInt64(OldOutputTokens)) AS OutputTokens,
    toUInt64(toInt64(NewCacheReadInputTokens) - toInt64(OldCacheReadInputTokens)) AS CacheReadInputTokens,
    toDecimal128(NewTotalCost, 12) - OldTotalCost AS TotalCost,
    toDecimal128(NewCacheSavings, 12) - OldCacheSavings AS CacheSavings
FROM {database}.llm_call_repricings;

-- Start and End are the call's own start (no earlier than the trace's start, no later than its end), the
-- models and the names empty: min, max and the union of models are left as they were.
CREATE OR REPLACE MATERIALIZED VIEW {database}.llm_trace_costs_repricing_mv TO {database}.llm_trace_costs AS
SELECT
    Tenant,
    toDate(Timestamp) AS Day,
    TraceId,
    Timestamp AS Start,
    Timestamp AS End,
    toUInt64(0) AS Calls,
    toUInt64(0) AS ErrorCalls,
    toUInt64(toInt64(NewCostSource = 'unpriced') - toInt64(OldCostSource = 'unpriced')) AS UnpricedCalls,
    toUInt64(toInt64(NewInputTokens) - toInt64(OldInputTokens)) AS InputTokens,
    toUInt64(toInt64(NewOutputTokens) - toInt64(OldOutputTokens)) AS OutputTokens,
    toDecimal128(NewTotalCost, 12) - OldTotalCost AS TotalCost,
    toDecimal128(NewCacheSavings, 12) - OldCacheSavings AS CacheSavings,
    CAST([], 'Array(String)') AS Models,
    '' AS ServiceName,
    '' AS UserId,
    '' AS SessionId,
    '' AS Feature
FROM {database}.llm_call_repricings;
