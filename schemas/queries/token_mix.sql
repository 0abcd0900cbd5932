-- SPDX-License-Identifier: Apache-2.0
-- title: Token mix over time: uncached input, cache reads, cache writes, output, reasoning
-- param: days UInt32 = 30
-- param: tenant String = ''
-- param: service String = ''
-- param: feature String = ''
-- param: bucket_hours UInt32 = 24
-- Buckets of a day or more read whole days from llm_usage_daily and the first, partial day from llm_usage_hourly
-- (as spend_over_time does); shorter buckets read llm_usage_hourly.
WITH toStartOfHour(now() - toIntervalDay({days:UInt32})) AS period_start
SELECT
    toStartOfInterval(Hour, toIntervalHour({bucket_hours:UInt32})) AS period,
    sum(InputTokens) - sum(CacheReadInputTokens) - sum(CacheCreationInputTokens) AS uncached_input_tokens,
    sum(CacheReadInputTokens) AS cache_read_tokens,
    sum(CacheCreationInputTokens) AS cache_write_tokens,
    sum(OutputTokens) - sum(ReasoningOutputTokens) AS visible_output_tokens,
    sum(ReasoningOutputTokens) AS reasoning_tokens
FROM
(
    SELECT toDateTime(Day) AS Hour, InputTokens, CacheReadInputTokens, CacheCreationInputTokens, OutputTokens,
        ReasoningOutputTokens
    FROM llm_usage_daily
    WHERE ({tenant:String} = '' OR Tenant = {tenant:String})
      AND ({service:String} = '' OR ServiceName = {service:String})
      AND ({feature:String} = '' OR Feature = {feature:String})
      AND {bucket_hours:UInt32} >= 24
      AND Day > toDate(period_start)
    UNION ALL
    SELECT Hour, InputTokens, CacheReadInputTokens, CacheCreationInputTokens, OutputTokens, ReasoningOutputTokens
    FROM llm_usage_hourly
    WHERE ({tenant:String} = '' OR Tenant = {tenant:String})
      AND ({service:String} = '' OR ServiceName = {service:String})
      AND ({feature:String} = '' OR Feature = {feature:String})
      AND Hour >= period_start
      AND ({bucket_hours:UInt32} < 24 OR toDate(Hour) = toDate(period_start))
)
GROUP BY period
ORDER BY period
