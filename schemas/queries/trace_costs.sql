-- SPDX-License-Identifier: Apache-2.0
-- title: Most expensive traces: cost, calls, tokens, start, duration, models
-- The costliest trace ids are found first by their cost alone, and only theirs are detailed, so the query stays
-- fast on millions of traces. With service or feature set, a trace's calls of that service or feature count.
-- On a cluster, calls are sharded by trace, so each shard sums its own traces whole and sends only its costliest;
-- ClickHouse does so only with optimize_skip_unused_shards (no effect on one node).
-- param: days UInt32 = 30
-- param: tenant String = ''
-- param: limit UInt32 = 100
-- param: service String = ''
-- param: feature String = ''
WITH costliest AS (
    SELECT TraceId
    FROM llm_trace_costs
    WHERE ({tenant:String} = '' OR Tenant = {tenant:String})
      AND ({service:String} = '' OR ServiceName = {service:String})
      AND ({feature:String} = '' OR Feature = {feature:String})
      AND Day >= toDate(now() - toIntervalDay({days:UInt32}))
    GROUP BY TraceId
    ORDER BY sum(TotalCost) DESC, TraceId
    LIMIT {limit:UInt32}
)
SELECT
    TraceId AS trace_id,
    sum(TotalCost) AS spend_usd,
    sum(Calls) AS calls,
    sum(InputTokens) + sum(OutputTokens) AS total_tokens,
    min(Start) AS start,
    round(dateDiff('millisecond', min(Start), max(End)) / 1000, 3) AS duration_s,
    arraySort(groupUniqArrayArray(Models)) AS models,
    max(ServiceName) AS service,
    max(UserId) AS user_id,
    max(Feature) AS feature
FROM llm_trace_costs
WHERE ({tenant:String} = '' OR Tenant = {tenant:String})
  AND ({service:String} = '' OR ServiceName = {service:String})
  AND ({feature:String} = '' OR Feature = {feature:String})
  AND Day >= toDate(now() - toIntervalDay({days:UInt32}))
  AND TraceId IN (SELECT TraceId FROM costliest)
GROUP BY trace_id
ORDER BY spend_usd DESC, trace_id
SETTINGS optimize_skip_unused_shards = 1
