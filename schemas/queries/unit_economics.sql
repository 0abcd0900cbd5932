-- SPDX-License-Identifier: Apache-2.0
-- title: Unit economics per feature: average cost per call and per trace
-- param: days UInt32 = 30
-- param: tenant String = ''
-- param: service String = ''
-- param: feature String = ''
SELECT
    Feature AS feature,
    sum(Calls) AS calls,
    uniqMerge(Traces) AS traces,
    sum(TotalCost) AS spend_usd,
    sum(TotalCost) / sum(Calls) AS usd_per_call,
    if(traces = 0, NULL, sum(TotalCost) / traces) AS usd_per_trace
FROM llm_usage_hourly
WHERE ({tenant:String} = '' OR Tenant = {tenant:String})
  AND ({service:String} = '' OR ServiceName = {service:String})
  AND ({feature:String} = '' OR Feature = {feature:String})
  AND Hour >= toStartOfHour(now() - toIntervalDay({days:UInt32}))
GROUP BY feature
ORDER BY spend_usd DESC, feature
