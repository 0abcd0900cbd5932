-- SPDX-License-Identifier: Apache-2.0
-- title: Cache savings by model: USD saved and the cached share of input
-- param: days UInt32 = 30
-- param: tenant String = ''
-- param: service String = ''
-- param: feature String = ''
-- Whole days of the window are read from llm_usage_daily, its first (partial) day from llm_usage_hourly: the
-- answer is the hourly rollup's, from a row per day and group.
WITH toStartOfHour(now() - toIntervalDay({days:UInt32})) AS period_start
SELECT
    Provider AS provider,
    Model AS model,
    sum(CacheSavings) AS savings_usd,
    sum(CacheReadInputTokens) AS cache_read_tokens,
    sum(InputTokens) AS input_tokens,
    round(if(input_tokens = 0, 0, cache_read_tokens / input_tokens), 4) AS cached_share
FROM
(
    SELECT Provider, Model, CacheSavings, CacheReadInputTokens, InputTokens
    FROM llm_usage_daily
    WHERE ({tenant:String} = '' OR Tenant = {tenant:String})
      AND ({service:String} = '' OR ServiceName = {service:String})
      AND ({feature:String} = '' OR Feature = {feature:String})
      AND Day > toDate(period_start)
    UNION ALL
    SELECT Provider, Model, CacheSavings, CacheReadInputTokens, InputTokens
    FROM llm_usage_hourly
    WHERE ({tenant:String} = '' OR Tenant = {tenant:String})
      AND ({service:String} = '' OR ServiceName = {service:String})
      AND ({feature:String} = '' OR Feature = {feature:String})
      AND Hour >= period_start AND toDate(Hour) = toDate(period_start)
)
GROUP BY provider, model
ORDER BY savings_usd DESC, provider, model
