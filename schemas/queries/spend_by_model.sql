-- SPDX-License-Identifier: Apache-2.0
-- title: Spend and tokens by model (top N)
-- param: days UInt32 = 30
-- param: tenant String = ''
-- param: service String = ''
-- param: feature String = ''
-- param: limit UInt32 = 20
-- Whole days of the window are read from llm_usage_daily, its first (partial) day from llm_usage_hourly: the
-- answer is the hourly rollup's, from a row per day and group. unpriced_calls: calls of the group whose cost is
-- unknown (no price), so not in spend_usd; a group of nothing but such calls has spend 0 and a cost nobody knows.
WITH toStartOfHour(now() - toIntervalDay({days:UInt32})) AS period_start
SELECT
    Provider AS provider,
    Model AS model,
    sum(TotalCost) AS spend_usd,
    sum(Calls) AS calls,
    sum(InputTokens) AS input_tokens,
    sum(OutputTokens) AS output_tokens,
    sum(InputTokens) + sum(OutputTokens) AS total_tokens,
    sum(UnpricedCalls) AS unpriced_calls
FROM
(
    SELECT Provider, Model, TotalCost, Calls, InputTokens, OutputTokens, UnpricedCalls
    FROM llm_usage_daily
    WHERE ({tenant:String} = '' OR Tenant = {tenant:String})
      AND ({service:String} = '' OR ServiceName = {service:String})
      AND ({feature:String} = '' OR Feature = {feature:String})
      AND Day > toDate(period_start)
    UNION ALL
    SELECT Provider, Model, TotalCost, Calls, InputTokens, OutputTokens, UnpricedCalls
    FROM llm_usage_hourly
    WHERE ({tenant:String} = '' OR Tenant = {tenant:String})
      AND ({service:String} = '' OR ServiceName = {service:String})
      AND ({feature:String} = '' OR Feature = {feature:String})
      AND Hour >= period_start AND toDate(Hour) = toDate(period_start)
)
GROUP BY provider, model
ORDER BY spend_usd DESC, provider, model
LIMIT {limit:UInt32}
