-- SPDX-License-Identifier: Apache-2.0
-- title: Token mix over time: uncached input, cache reads, cache writes, output, reasoning
-- param: days UInt32 = 30
-- param: tenant String = ''
-- param: service String = ''
-- param: feature String = ''
-- param: bucket_hours UInt32 = 24
SELECT
    toStartOfInterval(Hour, toIntervalHour({bucket_hours:UInt32})) AS period,
    sum(InputTokens) - sum(CacheReadInputTokens) - sum(CacheCreationInputTokens) AS uncached_input_tokens,
    sum(CacheReadInputTokens) AS cache_read_tokens,
    sum(CacheCreationInputTokens) AS cache_write_tokens,
    sum(OutputTokens) - sum(ReasoningOutputTokens) AS visible_output_tokens,
    sum(ReasoningOutputTokens) AS reasoning_tokens
FROM llm_usage_hourly
WHERE ({tenant:String} = '' OR Tenant = {tenant:String})
  AND ({service:String} = '' OR ServiceName = {service:String})
  AND ({feature:String} = '' OR Feature = {feature:String})
  AND Hour >= toStartOfHour(now() - toIntervalDay({days:UInt32}))
GROUP BY period
ORDER BY period
