-- SPDX-License-Identifier: Apache-2.0
-- title: Wasted and unknown spend: failed calls (and their cost), unpriced calls and calls without usage, by model
-- unpriced: no price is known for the model (add one to LLMLEDGER_PRICES_FILE); usage_missing: the call (most
-- often a stream that ended early) never reported its usage, so no price can cost it.
-- param: days UInt32 = 30
-- param: tenant String = ''
-- Whole days of the window are read from llm_usage_daily, its first (partial) day from llm_waste_hourly: the
-- window starts at the hour, as the hourly rollup's does.
WITH toStartOfHour(now() - toIntervalDay({days:UInt32})) AS period_start
SELECT
    Provider AS provider,
    Model AS model,
    sum(Calls) AS calls,
    sum(ErrorCalls) AS failed_calls,
    sum(FailedCost) AS failed_usd,
    sum(UnpricedUsageCalls) AS unpriced_calls,
    sum(UnpricedTokens) AS unpriced_tokens,
    sum(IncompleteUsageCalls) AS usage_missing_calls
FROM
(
    SELECT Provider, Model, Calls, ErrorCalls, FailedCost, UnpricedUsageCalls, UnpricedTokens, IncompleteUsageCalls
    FROM llm_usage_daily
    WHERE ({tenant:String} = '' OR Tenant = {tenant:String})
      AND Day > toDate(period_start)
    UNION ALL
    SELECT Provider, Model, Calls, ErrorCalls, FailedCost, UnpricedUsageCalls, UnpricedTokens, IncompleteUsageCalls
    FROM llm_waste_hourly
    WHERE ({tenant:String} = '' OR Tenant = {tenant:String})
      AND Hour >= period_start AND toDate(Hour) = toDate(period_start)
)
GROUP BY provider, model
HAVING failed_calls > 0 OR unpriced_calls > 0 OR usage_missing_calls > 0
ORDER BY failed_usd DESC, unpriced_calls DESC, usage_missing_calls DESC, provider, model
