-- SPDX-License-Identifier: Apache-2.0
-- title: Wasted and unknown spend: failed calls (and their cost), unpriced calls and calls without usage, by model
-- unpriced: no price is known for the model (add one to LLMLEDGER_PRICES_FILE); usage_missing: the call (most
-- often a stream that ended early) never reported its usage, so no price can cost it.
-- param: days UInt32 = 30
-- param: tenant String = ''
SELECT
    Provider AS provider,
    Model AS model,
    count() AS calls,
    countIf(StatusCode IN ('Error', 'STATUS_CODE_ERROR') OR ErrorType != '') AS failed_calls,
    sumIf(TotalCost, StatusCode IN ('Error', 'STATUS_CODE_ERROR') OR ErrorType != '') AS failed_usd,
    countIf(CostSource = 'unpriced' AND UsageComplete) AS unpriced_calls,
    sumIf(toUInt64(InputTokens) + OutputTokens, CostSource = 'unpriced' AND UsageComplete) AS unpriced_tokens,
    countIf(NOT UsageComplete) AS usage_missing_calls
FROM llm_calls FINAL
WHERE ({tenant:String} = '' OR Tenant = {tenant:String})
  AND Timestamp >= now() - toIntervalDay({days:UInt32})
GROUP BY provider, model
HAVING failed_calls > 0 OR unpriced_calls > 0 OR usage_missing_calls > 0
ORDER BY failed_usd DESC, unpriced_calls DESC, usage_missing_calls DESC, provider, model
