-- SPDX-License-Identifier: Apache-2.0
-- title: Spend by the value of one custom attribute (llm_calls.Attributes[key])
-- param: days UInt32 = 30
-- param: tenant String = ''
-- param: key String = 'team'
-- Each value from llm_attribute_costs for the whole days of the window and from llm_attribute_costs_hourly for its
-- first, partial day (the window starts at the hour, as the hourly rollup's does); '' (calls without the key) as
-- every call of llm_usage_daily and llm_usage_hourly less those with a value. The answer is the fact table's.
WITH toStartOfHour(now() - toIntervalDay({days:UInt32})) AS period_start
SELECT
    value,
    sum(cost) AS spend_usd,
    toUInt64(sum(count)) AS calls
FROM
(
    SELECT Value AS value, TotalCost AS cost, toInt64(Calls) AS count
    FROM llm_attribute_costs
    WHERE ({tenant:String} = '' OR Tenant = {tenant:String})
      AND Key = {key:String} AND Day > toDate(period_start)
    UNION ALL
    SELECT '' AS value, -TotalCost AS cost, -toInt64(Calls) AS count
    FROM llm_attribute_costs
    WHERE ({tenant:String} = '' OR Tenant = {tenant:String})
      AND Key = {key:String} AND Day > toDate(period_start)
    UNION ALL
    SELECT '' AS value, TotalCost AS cost, toInt64(Calls) AS count
    FROM llm_usage_daily
    WHERE ({tenant:String} = '' OR Tenant = {tenant:String})
      AND Day > toDate(period_start)
    UNION ALL
    SELECT Value AS value, TotalCost AS cost, toInt64(Calls) AS count
    FROM llm_attribute_costs_hourly
    WHERE ({tenant:String} = '' OR Tenant = {tenant:String})
      AND Key = {key:String} AND Hour >= period_start AND toDate(Hour) = toDate(period_start)
    UNION ALL
    SELECT '' AS value, -TotalCost AS cost, -toInt64(Calls) AS count
    FROM llm_attribute_costs_hourly
    WHERE ({tenant:String} = '' OR Tenant = {tenant:String})
      AND Key = {key:String} AND Hour >= period_start AND toDate(Hour) = toDate(period_start)
    UNION ALL
    SELECT '' AS value, TotalCost AS cost, toInt64(Calls) AS count
    FROM llm_usage_hourly
    WHERE ({tenant:String} = '' OR Tenant = {tenant:String})
      AND Hour >= period_start AND toDate(Hour) = toDate(period_start)
)
GROUP BY value
HAVING calls > 0
ORDER BY spend_usd DESC, value
