-- SPDX-License-Identifier: Apache-2.0
-- The per-trace rollup's view, replaced by one that aggregates nothing at insert: one row per call, which the
-- AggregatingMergeTree folds per trace as it merges (every column is a SimpleAggregateFunction: min, max, sum,
-- the union of the models). Readers already aggregate (`GROUP BY TraceId`), as for every rollup.
--
-- Grouping 50,000 rows by trace at every insert was the most expensive step of ClickHouse's insert: with one
-- trace per call, as in the ingest benchmark, it built a hash table of 50,000 keys with a set of models each, for
-- rows the merges fold anyway (benchmarks/clickhouse_insert_cost.py).
--
-- CREATE OR REPLACE, not ALTER ... MODIFY QUERY: a view changed in place was found to count twice an insert that
-- landed just before ClickHouse was killed and was then retried under the same deduplication token
-- (tests/collector/faults/test_slow_inserts.py fails with the unchanged query set through MODIFY QUERY, and passes
-- with this). The replacement is atomic, so no insert running meanwhile is missed or counted twice. Idempotent:
-- replacing it again gives the same view.
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
FROM {database}.llm_calls;
