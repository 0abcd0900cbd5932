-- SPDX-License-Identifier: Apache-2.0
-- title: Daily usage per model: tokens, cost, calls, traces
-- param: days UInt32 = 30
-- param: tenant String = ''
-- param: service String = ''
-- param: feature String = ''
-- Whole days of the window are read from llm_usage_daily, its first (partial) day from llm_usage_hourly: the
-- answer is the hourly rollup's, from a row per day and group.
WITH toStartOfHour(now() - toIntervalDay({days:UInt32})) AS period_start
SELECT
    Day AS day,
    Model AS model,
    sum(InputTokens) AS input_tokens,
    sum(OutputTokens) AS output_tokens,
    sum(InputTokens) + sum(OutputTokens) AS total_tokens,
    sum(TotalCost) AS spend_usd,
    sum(Calls) AS calls,
    uniqMerge(Traces) AS traces
FROM
(
    SELECT Day, Model, InputTokens, OutputTokens, TotalCost, Calls, Traces
    FROM llm_usage_daily
    WHERE ({tenant:String} = '' OR Tenant = {tenant:String})
      AND ({service:String} = '' OR ServiceName = {service:String})
      AND ({feature:String} = '' OR Feature = {feature:String})
      AND Day > toDate(period_start)
    UNION ALL
    SELECT toDate(Hour) AS Day, Model, InputTokens, OutputTokens, TotalCost, Calls, Traces
    FROM llm_usage_hourly
    WHERE ({tenant:String} = '' OR Tenant = {tenant:String})
      AND ({service:String} = '' OR ServiceName = {service:String})
      AND ({feature:String} = '' OR Feature = {feature:String})
      AND Hour >= period_start AND toDate(Hour) = toDate(period_start)
)
GROUP BY day, model
ORDER BY day, spend_usd DESC, model
