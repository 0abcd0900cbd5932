-- SPDX-License-Identifier: Apache-2.0
-- llm_session_costs: cost, calls, traces, first and last call per session and day, so `session_costs` reads a
-- row per session and day instead of every call of its window. Rows grow with sessions (conversations), not with
-- the calls in them. Calls without a session are not kept: no question groups them.
--
-- Traces is an exact set (uniqExact state), as the query's answer was exact when it read llm_calls; FirstCall and
-- LastCall are min and max of the calls' timestamps. The query reads this rollup for the whole days of its window
-- and llm_calls FINAL for the first, partial day (its window starts at an instant), so its answer is the fact
-- table's to the last digit.
--
-- As every rollup of llm_calls (migrations 0009, 0010): the view skips re-priced rows and a twin view moves the
-- cost by new − old from the journal llm_call_repricings, which carries the call's session from now on
-- (SessionId, '' from a writer that does not fill it: such a change is then not seen here). The twin view's
-- FirstCall and LastCall are the call's own timestamp, which the session's range already holds, so min and max
-- stay as they were.
--
-- Calls stored before this migration are copied once as migration 0018 explains (views that count from a cut-off
-- on, a copy of the calls and journal rows before it, recorded as done in llmledger_backfills).

ALTER TABLE {database}.llm_call_repricings ADD COLUMN IF NOT EXISTS SessionId String DEFAULT '';

CREATE TABLE IF NOT EXISTS {database}.llm_session_costs
(
    Tenant LowCardinality(String),
    Day Date,
    SessionId String,

    TotalCost SimpleAggregateFunction(sum, Decimal(38, 12)),
    Calls SimpleAggregateFunction(sum, UInt64),
    Traces AggregateFunction(uniqExact, String),
    FirstCall SimpleAggregateFunction(min, DateTime64(9)),
    LastCall SimpleAggregateFunction(max, DateTime64(9))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(Day)
ORDER BY (Tenant, Day, SessionId)
TTL Day + toIntervalDay(400)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.llm_session_costs_mv TO {database}.llm_session_costs AS
SELECT
    Tenant,
    toDate(Timestamp) AS Day,
    SessionId,
    sum(TotalCost) AS TotalCost,
    count() AS Calls,
    uniqExactState(TraceId) AS Traces,
    min(Timestamp) AS FirstCall,
    max(Timestamp) AS LastCall
FROM {database}.llm_calls
WHERE RepricedBy = '' AND SessionId != '' AND IngestedAt >= {cutoff}
GROUP BY Tenant, Day, SessionId;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.llm_session_costs_repricing_mv TO {database}.llm_session_costs AS
SELECT
    Tenant,
    toDate(Timestamp) AS Day,
    SessionId,
    sum(toDecimal128(NewTotalCost, 12) - OldTotalCost) AS TotalCost,
    toUInt64(0) AS Calls,
    uniqExactStateIf(TraceId, false) AS Traces,
    min(Timestamp) AS FirstCall,
    max(Timestamp) AS LastCall
FROM {database}.llm_call_repricings
WHERE SessionId != '' AND RepricedAt >= {cutoff}
GROUP BY Tenant, Day, SessionId;

-- The calls stored before the cut-off, as first stored (migration 0018 explains the copy).
INSERT INTO {database}.llm_session_costs
SELECT
    Tenant,
    toDate(Timestamp) AS Day,
    SessionId,
    sum(TotalCost) AS TotalCost,
    count() AS Calls,
    uniqExactState(TraceId) AS Traces,
    min(Timestamp) AS FirstCall,
    max(Timestamp) AS LastCall
FROM {database}.llm_calls FINAL
PREWHERE RepricedBy = '' AND IngestedAt < {cutoff:llm_session_costs_mv}
WHERE SessionId != ''
  AND NOT (
    SELECT argMax(Done, UpdatedAt) FROM {database}.llmledger_backfills WHERE Name = '0019_llm_session_costs'
  )
GROUP BY Tenant, Day, SessionId
SETTINGS insert_deduplication_token = '0019_llm_session_costs', max_insert_threads = 1;

-- The changes the journal made to those calls before its view's cut-off.
INSERT INTO {database}.llm_session_costs
SELECT
    Tenant,
    toDate(Timestamp) AS Day,
    SessionId,
    sum(toDecimal128(NewTotalCost, 12) - OldTotalCost) AS TotalCost,
    toUInt64(0) AS Calls,
    uniqExactStateIf(TraceId, false) AS Traces,
    min(Timestamp) AS FirstCall,
    max(Timestamp) AS LastCall
FROM {database}.llm_call_repricings
WHERE SessionId != '' AND RepricedAt < {cutoff:llm_session_costs_repricing_mv}
  AND NOT (
    SELECT argMax(Done, UpdatedAt) FROM {database}.llmledger_backfills WHERE Name = '0019_llm_session_costs'
  )
GROUP BY Tenant, Day, SessionId
SETTINGS insert_deduplication_token = '0019_llm_session_costs_repricings', max_insert_threads = 1;

INSERT INTO {database}.llmledger_backfills (Name, Cutoff, Done)
SELECT '0019_llm_session_costs', {cutoff:llm_session_costs_mv}, true
WHERE NOT (SELECT argMax(Done, UpdatedAt) FROM {database}.llmledger_backfills WHERE Name = '0019_llm_session_costs');
