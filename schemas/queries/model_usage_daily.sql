-- SPDX-License-Identifier: Apache-2.0
-- title: Daily usage per model: tokens, cost, calls, traces
-- param: days UInt32 = 30
-- param: tenant String = ''
-- param: service String = ''
-- param: feature String = ''
SELECT
    toDate(Hour) AS day,
    Model AS model,
    sum(InputTokens) AS input_tokens,
    sum(OutputTokens) AS output_tokens,
    sum(InputTokens) + sum(OutputTokens) AS total_tokens,
    sum(TotalCost) AS spend_usd,
    sum(Calls) AS calls,
    uniqMerge(Traces) AS traces
FROM llm_usage_hourly
WHERE ({tenant:String} = '' OR Tenant = {tenant:String})
  AND ({service:String} = '' OR ServiceName = {service:String})
  AND ({feature:String} = '' OR Feature = {feature:String})
  AND Hour >= toStartOfHour(now() - toIntervalDay({days:UInt32}))
GROUP BY day, model
ORDER BY day, spend_usd DESC, model
