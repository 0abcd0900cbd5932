-- SPDX-License-Identifier: Apache-2.0
-- title: Total spend and calls in the last N days, and in the N days before; tokens, cache savings and the calls
-- whose cost is unknown in the last N days (unpriced_calls counts every call without a price, usage_missing_calls
-- those whose usage never arrived, so a call can be in both)
-- param: days UInt32 = 30
-- param: tenant String = ''
-- param: service String = ''
-- param: feature String = ''
-- Whole days are read from llm_usage_daily, the two days a period starts in from llm_usage_hourly (a day row
-- stands at its midnight, before or after period_start as the whole day is), so the answer is the hourly rollup's.
WITH
    toStartOfHour(now() - toIntervalDay({days:UInt32})) AS period_start,
    period_start - toIntervalDay({days:UInt32}) AS previous_start
SELECT
    sumIf(TotalCost, Hour >= period_start) AS spend_usd,
    sumIf(Calls, Hour >= period_start) AS calls,
    sumIf(TotalCost, Hour < period_start) AS previous_spend_usd,
    sumIf(Calls, Hour < period_start) AS previous_calls,
    sumIf(InputTokens, Hour >= period_start) AS input_tokens,
    sumIf(OutputTokens, Hour >= period_start) AS output_tokens,
    sumIf(CacheReadInputTokens, Hour >= period_start) AS cache_read_tokens,
    sumIf(CacheSavings, Hour >= period_start) AS cache_savings_usd,
    sumIf(ErrorCalls, Hour >= period_start) AS failed_calls,
    sumIf(UnpricedCalls, Hour >= period_start) AS unpriced_calls,
    sumIf(IncompleteUsageCalls, Hour >= period_start) AS usage_missing_calls
FROM
(
    SELECT toDateTime(Day) AS Hour, TotalCost, Calls, InputTokens, OutputTokens, CacheReadInputTokens, CacheSavings,
        ErrorCalls, UnpricedCalls, IncompleteUsageCalls
    FROM llm_usage_daily
    WHERE ({tenant:String} = '' OR Tenant = {tenant:String})
      AND ({service:String} = '' OR ServiceName = {service:String})
      AND ({feature:String} = '' OR Feature = {feature:String})
      AND Day > toDate(previous_start) AND Day != toDate(period_start)
    UNION ALL
    SELECT Hour, TotalCost, Calls, InputTokens, OutputTokens, CacheReadInputTokens, CacheSavings, ErrorCalls,
        UnpricedCalls, IncompleteUsageCalls
    FROM llm_usage_hourly
    WHERE ({tenant:String} = '' OR Tenant = {tenant:String})
      AND ({service:String} = '' OR ServiceName = {service:String})
      AND ({feature:String} = '' OR Feature = {feature:String})
      AND Hour >= previous_start
      AND (toDate(Hour) = toDate(previous_start) OR toDate(Hour) = toDate(period_start))
)
