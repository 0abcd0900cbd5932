-- SPDX-License-Identifier: Apache-2.0
-- title: Spend by the value of one custom attribute (llm_calls.Attributes[key])
-- param: days UInt32 = 30
-- param: tenant String = ''
-- param: key String = 'team'
-- Whole days of the window: each value from llm_attribute_costs, and '' (calls without the key) as every call of
-- llm_usage_daily less those with a value; the first, partial day (the window starts at an instant) from
-- llm_calls FINAL. The answer is the fact table's.
WITH now() - toIntervalDay({days:UInt32}) AS since
SELECT
    value,
    sum(cost) AS spend_usd,
    toUInt64(sum(count)) AS calls
FROM
(
    SELECT Value AS value, TotalCost AS cost, toInt64(Calls) AS count
    FROM llm_attribute_costs
    WHERE ({tenant:String} = '' OR Tenant = {tenant:String})
      AND Key = {key:String} AND Day > toDate(since)
    UNION ALL
    SELECT '' AS value, -TotalCost AS cost, -toInt64(Calls) AS count
    FROM llm_attribute_costs
    WHERE ({tenant:String} = '' OR Tenant = {tenant:String})
      AND Key = {key:String} AND Day > toDate(since)
    UNION ALL
    SELECT '' AS value, TotalCost AS cost, toInt64(Calls) AS count
    FROM llm_usage_daily
    WHERE ({tenant:String} = '' OR Tenant = {tenant:String})
      AND Day > toDate(since)
    UNION ALL
    SELECT Attributes[{key:String}] AS value, toDecimal128(TotalCost, 12) AS cost, toInt64(1) AS count
    FROM llm_calls FINAL
    WHERE ({tenant:String} = '' OR Tenant = {tenant:String})
      AND Timestamp >= since AND toDate(Timestamp) = toDate(since)
)
GROUP BY value
HAVING calls > 0
ORDER BY spend_usd DESC, value
