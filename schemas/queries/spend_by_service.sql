-- SPDX-License-Identifier: Apache-2.0
-- title: Spend by service and environment
-- param: days UInt32 = 30
-- param: tenant String = ''
-- param: service String = ''
-- param: feature String = ''
SELECT
    ServiceName AS service,
    Environment AS environment,
    sum(TotalCost) AS spend_usd,
    sum(Calls) AS calls
FROM llm_usage_hourly
WHERE ({tenant:String} = '' OR Tenant = {tenant:String})
  AND ({service:String} = '' OR ServiceName = {service:String})
  AND ({feature:String} = '' OR Feature = {feature:String})
  AND Hour >= toStartOfHour(now() - toIntervalDay({days:UInt32}))
GROUP BY service, environment
ORDER BY spend_usd DESC, service, environment
