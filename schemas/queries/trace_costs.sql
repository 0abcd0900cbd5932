-- SPDX-License-Identifier: Apache-2.0
-- title: Most expensive traces: cost, calls, tokens, start, duration, models
-- param: days UInt32 = 30
-- param: tenant String = ''
-- param: limit UInt32 = 100
-- param: service String = ''
-- param: feature String = ''
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
  AND Day >= toDate(now() - toIntervalDay({days:UInt32}))
GROUP BY trace_id
HAVING ({service:String} = '' OR service = {service:String})
   AND ({feature:String} = '' OR feature = {feature:String})
ORDER BY spend_usd DESC, trace_id
LIMIT {limit:UInt32}
