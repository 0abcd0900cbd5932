-- SPDX-License-Identifier: Apache-2.0
-- title: Spend by provider
-- param: days UInt32 = 30
-- param: tenant String = ''
-- param: service String = ''
-- param: feature String = ''
SELECT
    Provider AS provider,
    sum(TotalCost) AS spend_usd,
    sum(Calls) AS calls,
    sum(InputTokens) + sum(OutputTokens) AS total_tokens
FROM llm_usage_hourly
WHERE ({tenant:String} = '' OR Tenant = {tenant:String})
  AND ({service:String} = '' OR ServiceName = {service:String})
  AND ({feature:String} = '' OR Feature = {feature:String})
  AND Hour >= toStartOfHour(now() - toIntervalDay({days:UInt32}))
GROUP BY provider
ORDER BY spend_usd DESC, provider
