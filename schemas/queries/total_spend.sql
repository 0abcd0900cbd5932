-- SPDX-License-Identifier: Apache-2.0
-- title: Total spend and calls in the last N days, and in the N days before
-- param: days UInt32 = 30
-- param: tenant String = ''
WITH toStartOfHour(now() - toIntervalDay({days:UInt32})) AS period_start
SELECT
    sumIf(TotalCost, Hour >= period_start) AS spend_usd,
    sumIf(Calls, Hour >= period_start) AS calls,
    sumIf(TotalCost, Hour < period_start) AS previous_spend_usd,
    sumIf(Calls, Hour < period_start) AS previous_calls
FROM llm_usage_hourly
WHERE ({tenant:String} = '' OR Tenant = {tenant:String})
  AND Hour >= period_start - toIntervalDay({days:UInt32})
