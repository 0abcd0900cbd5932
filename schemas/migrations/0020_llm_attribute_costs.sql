-- SPDX-License-Identifier: Apache-2.0
-- llm_attribute_costs: cost and calls per custom attribute key and value a day (llm_calls.Attributes, the
-- allow-listed attributes), so `spend_by_attribute` reads a row per value and day instead of every call of its
-- window. Rows grow with the attribute values in use, not with the calls: attributes are allow-listed for
-- grouping (a team, a customer tier), not ids that differ per call.
--
-- A call without the key, or with it empty, counts under the value '' in the query: that group is every call of
-- llm_usage_daily less those with a value here, so it is not stored. The query reads both rollups for the whole
-- days of its window and llm_calls FINAL for the first, partial day, so its answer is the fact table's.
--
-- As every rollup of llm_calls (migrations 0009, 0010): the view skips re-priced rows and a twin view moves the
-- cost by new − old from the journal llm_call_repricings, which carries the call's attributes from now on
-- (Attributes; a writer that leaves it empty moves the llm_usage_daily total but no value here, so the change
-- shows under '' instead of the call's value). Calls stored before this migration are copied once as migration
-- 0018 explains.

ALTER TABLE {database}.llm_call_repricings ADD COLUMN IF NOT EXISTS Attributes Map(LowCardinality(String), String);

CREATE TABLE IF NOT EXISTS {database}.llm_attribute_costs
(
    Tenant LowCardinality(String),
    Day Date,
    Key LowCardinality(String),
    Value String,

    TotalCost SimpleAggregateFunction(sum, Decimal(38, 12)),
    Calls SimpleAggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(Day)
ORDER BY (Tenant, Key, Day, Value)
TTL Day + toIntervalDay(400)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.llm_attribute_costs_mv TO {database}.llm_attribute_costs AS
SELECT
    Tenant,
    toDate(Timestamp) AS Day,
    attribute.1 AS Key,
    attribute.2 AS Value,
    sum(TotalCost) AS TotalCost,
    count() AS Calls
FROM {database}.llm_calls
ARRAY JOIN arrayZip(mapKeys(Attributes), mapValues(Attributes)) AS attribute
WHERE RepricedBy = '' AND attribute.2 != '' AND IngestedAt >= {cutoff}
GROUP BY Tenant, Day, Key, Value;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.llm_attribute_costs_repricing_mv TO {database}.llm_attribute_costs AS
SELECT
    Tenant,
    toDate(Timestamp) AS Day,
    attribute.1 AS Key,
    attribute.2 AS Value,
    sum(toDecimal128(NewTotalCost, 12) - OldTotalCost) AS TotalCost,
    toUInt64(0) AS Calls
FROM {database}.llm_call_repricings
ARRAY JOIN arrayZip(mapKeys(Attributes), mapValues(Attributes)) AS attribute
WHERE attribute.2 != '' AND RepricedAt >= {cutoff}
GROUP BY Tenant, Day, Key, Value;

-- The calls stored before the cut-off, as first stored (migration 0018 explains the copy).
INSERT INTO {database}.llm_attribute_costs
SELECT
    Tenant,
    toDate(Timestamp) AS Day,
    attribute.1 AS Key,
    attribute.2 AS Value,
    sum(TotalCost) AS TotalCost,
    count() AS Calls
FROM {database}.llm_calls FINAL
ARRAY JOIN arrayZip(mapKeys(Attributes), mapValues(Attributes)) AS attribute
PREWHERE RepricedBy = '' AND IngestedAt < {cutoff:llm_attribute_costs_mv}
WHERE attribute.2 != ''
  AND NOT (
    SELECT argMax(Done, UpdatedAt) FROM {database}.llmledger_backfills WHERE Name = '0020_llm_attribute_costs'
  )
GROUP BY Tenant, Day, Key, Value
SETTINGS insert_deduplication_token = '0020_llm_attribute_costs', max_insert_threads = 1;

-- The changes the journal made to those calls before its view's cut-off.
INSERT INTO {database}.llm_attribute_costs
SELECT
    Tenant,
    toDate(Timestamp) AS Day,
    attribute.1 AS Key,
    attribute.2 AS Value,
    sum(toDecimal128(NewTotalCost, 12) - OldTotalCost) AS TotalCost,
    toUInt64(0) AS Calls
FROM {database}.llm_call_repricings
ARRAY JOIN arrayZip(mapKeys(Attributes), mapValues(Attributes)) AS attribute
WHERE attribute.2 != '' AND RepricedAt < {cutoff:llm_attribute_costs_repricing_mv}
  AND NOT (
    SELECT argMax(Done, UpdatedAt) FROM {database}.llmledger_backfills WHERE Name = '0020_llm_attribute_costs'
  )
GROUP BY Tenant, Day, Key, Value
SETTINGS insert_deduplication_token = '0020_llm_attribute_costs_repricings', max_insert_threads = 1;

INSERT INTO {database}.llmledger_backfills (Name, Cutoff, Done)
SELECT '0020_llm_attribute_costs', {cutoff:llm_attribute_costs_mv}, true
WHERE NOT (SELECT argMax(Done, UpdatedAt) FROM {database}.llmledger_backfills WHERE Name = '0020_llm_attribute_costs');
