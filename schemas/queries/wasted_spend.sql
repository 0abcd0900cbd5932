-- SPDX-License-Identifier: Apache-2.0
-- title: Wasted and unknown spend: failed calls (and their cost) and unpriced calls, by model
-- param: days UInt32 = 30
-- param: tenant String = ''
SELECT
    Provider AS provider,
    Model AS model,
    count() AS calls,
    countIf(StatusCode IN ('Error', 'STATUS_CODE_ERROR') OR ErrorType != '') AS failed_calls,
    sumIf(TotalCost, StatusCode IN ('Error', 'STATUS_CODE_ERROR') OR ErrorType != '') AS failed_usd,
    countIf(CostSource = 'unpriced') AS unpriced_calls,
    sumIf(toUInt64(InputTokens) + OutputTokens, CostSource = 'unpriced') AS unpriced_tokens
FROM llm_calls FINAL
WHERE ({tenant:String} = '' OR Tenant = {tenant:String})
  AND Timestamp >= now() - toIntervalDay({days:UInt32})
GROUP BY provider, model
HAVING failed_calls > 0 OR unpriced_calls > 0
ORDER BY failed_usd DESC, unpriced_calls DESC, provider, model
