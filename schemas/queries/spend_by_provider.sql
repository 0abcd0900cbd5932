-- SPDX-License-Identifier: Apache-2.0
-- title: Spend by provider
-- param: days UInt32 = 30
-- param: tenant String = ''
-- param: service String = ''
-- param: feature String = ''
-- Whole days of the window are read from llm_usage_daily, its first (partial) day from llm_usage_hourly: the
-- answer is the hourly rollup's, from a row per day and group. unpriced_calls: calls whose cost is unknown (no
-- price), so not in spend_usd.
WITH toStartOfHour(now() - toIntervalDay({days:UInt32})) AS period_start
SELECT
    Provider AS provider,
    sum(TotalCost) AS spend_usd,
    sum(Calls) AS calls,
    sum(InputTokens) + sum(OutputTokens) AS total_tokens,
    sum(UnpricedCalls) AS unpriced_calls
FROM
(
    SELECT Provider, TotalCost, Calls, InputTokens, OutputTokens, UnpricedCalls
    FROM llm_usage_daily
    WHERE ({tenant:String} = '' OR Tenant = {tenant:String})
      AND ({service:String} = '' OR ServiceName = {service:String})
      AND ({feature:String} = '' OR Feature = {feature:String})
      AND Day > toDate(period_start)
    UNION ALL
    SELECT Provider, TotalCost, Calls, InputTokens, OutputTokens, UnpricedCalls
    FROM llm_usage_hourly
    WHERE ({tenant:String} = '' OR Tenant = {tenant:String})
      AND ({service:String} = '' OR ServiceName = {service:String})
      AND ({feature:String} = '' OR Feature = {feature:String})
      AND Hour >= period_start AND toDate(Hour) = toDate(period_start)
)
GROUP BY provider
ORDER BY spend_usd DESC, provider
