-- SPDX-License-Identifier: Apache-2.0
-- title: Spend over time, in buckets of bucket_hours
-- param: days UInt32 = 30
-- param: tenant String = ''
-- param: service String = ''
-- param: feature String = ''
-- param: bucket_hours UInt32 = 24
SELECT
    toStartOfInterval(Hour, toIntervalHour({bucket_hours:UInt32})) AS period,
    sum(TotalCost) AS spend_usd,
    sum(Calls) AS calls
FROM llm_usage_hourly
WHERE ({tenant:String} = '' OR Tenant = {tenant:String})
  AND ({service:String} = '' OR ServiceName = {service:String})
  AND ({feature:String} = '' OR Feature = {feature:String})
  AND Hour >= toStartOfHour(now() - toIntervalDay({days:UInt32}))
GROUP BY period
ORDER BY period
