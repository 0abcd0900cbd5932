-- SPDX-License-Identifier: Apache-2.0
-- title: Spend by feature
-- param: days UInt32 = 30
-- param: tenant String = ''
-- param: service String = ''
-- param: feature String = ''
-- Whole days of the window are read from llm_usage_daily, its first (partial) day from llm_usage_hourly: the
-- answer is the hourly rollup's, from a row per day and group.
WITH toStartOfHour(now() - toIntervalDay({days:UInt32})) AS period_start
SELECT
    Feature AS feature,
    sum(TotalCost) AS spend_usd,
    sum(Calls) AS calls,
    uniqMerge(Users) AS users
FROM
(
    SELECT Feature, TotalCost, Calls, Users
    FROM llm_usage_daily
    WHERE ({tenant:String} = '' OR Tenant = {tenant:String})
      AND ({service:String} = '' OR ServiceName = {service:String})
      AND ({feature:String} = '' OR Feature = {feature:String})
      AND Day > toDate(period_start)
    UNION ALL
    SELECT Feature, TotalCost, Calls, Users
    FROM llm_usage_hourly
    WHERE ({tenant:String} = '' OR Tenant = {tenant:String})
      AND ({service:String} = '' OR ServiceName = {service:String})
      AND ({feature:String} = '' OR Feature = {feature:String})
      AND Hour >= period_start AND toDate(Hour) = toDate(period_start)
)
GROUP BY feature
ORDER BY spend_usd DESC, feature
