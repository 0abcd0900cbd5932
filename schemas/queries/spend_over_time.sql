-- SPDX-License-Identifier: Apache-2.0
-- title: Spend over time, in buckets of bucket_hours
-- param: days UInt32 = 30
-- param: tenant String = ''
-- param: service String = ''
-- param: feature String = ''
-- param: bucket_hours UInt32 = 24
-- Buckets of a day or more (ClickHouse counts hour buckets from midnight, so every hour of a day falls in the
-- bucket of its midnight) read whole days from llm_usage_daily and the first, partial day from llm_usage_hourly;
-- shorter buckets read llm_usage_hourly. Either way the answer is the hourly rollup's.
WITH toStartOfHour(now() - toIntervalDay({days:UInt32})) AS period_start
SELECT
    toStartOfInterval(Hour, toIntervalHour({bucket_hours:UInt32})) AS period,
    sum(TotalCost) AS spend_usd,
    sum(Calls) AS calls
FROM
(
    SELECT toDateTime(Day) AS Hour, TotalCost, Calls
    FROM llm_usage_daily
    WHERE ({tenant:String} = '' OR Tenant = {tenant:String})
      AND ({service:String} = '' OR ServiceName = {service:String})
      AND ({feature:String} = '' OR Feature = {feature:String})
      AND {bucket_hours:UInt32} >= 24
      AND Day > toDate(period_start)
    UNION ALL
    SELECT Hour, TotalCost, Calls
    FROM llm_usage_hourly
    WHERE ({tenant:String} = '' OR Tenant = {tenant:String})
      AND ({service:String} = '' OR ServiceName = {service:String})
      AND ({feature:String} = '' OR Feature = {feature:String})
      AND Hour >= period_start
      AND ({bucket_hours:UInt32} < 24 OR toDate(Hour) = toDate(period_start))
)
GROUP BY period
ORDER BY period
