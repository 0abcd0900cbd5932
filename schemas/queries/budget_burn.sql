-- SPDX-License-Identifier: Apache-2.0
-- title: Budget burn per tenant and service: month to date, last 24 h, projected month end
-- param: tenant String = ''
WITH
    toStartOfMonth(now()) AS month_start,
    toDate(month_start + toIntervalMonth(1)) - toDate(month_start) AS days_in_month,
    greatest(dateDiff('second', toDateTime(month_start), now()) / 86400, 1 / 24) AS days_elapsed
SELECT
    Tenant AS tenant,
    ServiceName AS service,
    sumIf(TotalCost, Hour >= month_start) AS month_to_date_usd,
    sumIf(TotalCost, Hour >= now() - toIntervalHour(24)) AS last_24h_usd,
    round(toFloat64(month_to_date_usd) / days_elapsed * days_in_month, 6) AS projected_month_usd,
    round(toFloat64(last_24h_usd) * days_in_month, 6) AS run_rate_month_usd
FROM llm_usage_hourly
WHERE ({tenant:String} = '' OR Tenant = {tenant:String})
  AND Hour >= least(toDateTime(month_start), now() - toIntervalHour(24))
GROUP BY tenant, service
ORDER BY month_to_date_usd DESC, tenant, service
