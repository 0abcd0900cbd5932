-- SPDX-License-Identifier: Apache-2.0
-- title: Top users: spend, calls, active days, first and last day, tokens per call
-- param: days UInt32 = 30
-- param: tenant String = ''
-- param: service String = ''
-- param: feature String = ''
-- param: limit UInt32 = 50
SELECT
    UserId AS user_id,
    sum(TotalCost) AS spend_usd,
    sum(Calls) AS calls,
    uniqExact(Day) AS active_days,
    min(Day) AS first_day,
    max(Day) AS last_day,
    round((sum(InputTokens) + sum(OutputTokens)) / sum(Calls), 1) AS tokens_per_call
FROM llm_usage_daily_user
WHERE ({tenant:String} = '' OR Tenant = {tenant:String})
  AND ({service:String} = '' OR ServiceName = {service:String})
  AND ({feature:String} = '' OR Feature = {feature:String})
  AND Day >= toDate(now() - toIntervalDay({days:UInt32}))
  AND UserId != ''
GROUP BY user_id
ORDER BY spend_usd DESC, user_id
LIMIT {limit:UInt32}
