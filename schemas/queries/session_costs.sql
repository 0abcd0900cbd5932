-- SPDX-License-Identifier: Apache-2.0
-- title: Cost per session (conversation)
-- param: days UInt32 = 30
-- param: tenant String = ''
-- param: limit UInt32 = 100
SELECT
    SessionId AS session_id,
    sum(TotalCost) AS spend_usd,
    count() AS calls,
    uniqExact(TraceId) AS traces,
    min(Timestamp) AS first_call,
    max(Timestamp) AS last_call
FROM llm_calls FINAL
WHERE ({tenant:String} = '' OR Tenant = {tenant:String})
  AND Timestamp >= now() - toIntervalDay({days:UInt32})
  AND SessionId != ''
GROUP BY session_id
ORDER BY spend_usd DESC, session_id
LIMIT {limit:UInt32}
