-- SPDX-License-Identifier: Apache-2.0
-- title: Unit economics per feature: average cost per call and per trace
-- param: days UInt32 = 30
-- param: tenant String = ''
-- param: service String = ''
-- param: feature String = ''
-- Whole days of the window are read from llm_usage_daily, its first (partial) day from llm_usage_hourly: the
-- answer is the hourly rollup's, from a row per day and group.
WITH toStartOfHour(now() - toIntervalDay({days:UInt32})) AS period_start
SELECT
    Feature AS feature,
    sum(Calls) AS calls,
    uniqMerge(Traces) AS traces,
    sum(TotalCost) AS spend_usd,
    sum(TotalCost) / sum(Calls) AS usd_per_call,
    if(traces = 0, NULL, sum(TotalCost) / traces) AS usd_per_trace
FROM
(
    SELECT Feature, Calls, Traces, TotalCost
    FROM llm_usage_daily
    WHERE ({tenant:String} = '' OR Tenant = {tenant:String})
      AND ({service:String} = '' OR ServiceName = {service:String})
      AND ({feature:String} = '' OR Feature = {feature:String})
      AND Day > toDate(period_start)
    UNION ALL
    SELECT Feature, Calls, Traces, TotalCost
    FROM llm_usage_hourly
    WHERE ({tenant:String} = '' OR Tenant = {tenant:String})
      AND ({service:String} = '' OR ServiceName = {service:String})
      AND ({feature:String} = '' OR Feature = {feature:String})
      AND Hour >= period_start AND toDate(Hour) = toDate(period_start)
)
GROUP BY feature
ORDER BY spend_usd DESC, feature
