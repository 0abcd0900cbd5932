-- SPDX-License-Identifier: Apache-2.0
-- title: Spend by the value of one custom attribute (llm_calls.Attributes[key])
-- param: days UInt32 = 30
-- param: tenant String = ''
-- param: key String = 'team'
SELECT
    Attributes[{key:String}] AS value,
    sum(TotalCost) AS spend_usd,
    count() AS calls
FROM llm_calls FINAL
WHERE ({tenant:String} = '' OR Tenant = {tenant:String})
  AND Timestamp >= now() - toIntervalDay({days:UInt32})
GROUP BY value
ORDER BY spend_usd DESC, value
