-- SPDX-License-Identifier: Apache-2.0
-- title: Spend by feature
-- param: days UInt32 = 30
-- param: tenant String = ''
-- param: service String = ''
-- param: feature String = ''
SELECT
    Feature AS feature,
    sum(TotalCost) AS spend_usd,
    sum(Calls) AS calls,
    uniqMerge(Users) AS users
FROM llm_usage_hourly
WHERE ({tenant:String} = '' OR Tenant = {tenant:String})
  AND ({service:String} = '' OR ServiceName = {service:String})
  AND ({feature:String} = '' OR Feature = {feature:String})
  AND Hour >= toStartOfHour(now() - toIntervalDay({days:UInt32}))
GROUP BY feature
ORDER BY spend_usd DESC, feature
