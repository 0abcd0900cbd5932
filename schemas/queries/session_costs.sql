-- SPDX-License-Identifier: Apache-2.0
-- title: Cost per session (conversation)
-- param: days UInt32 = 30
-- param: tenant String = ''
-- param: limit UInt32 = 100
-- Whole days of the window are read from llm_session_costs (a row per session and day), the calls of its first,
-- partial day (the window starts at an instant) from llm_calls FINAL; traces is an exact count.
WITH now() - toIntervalDay({days:UInt32}) AS since
SELECT
    SessionId AS session_id,
    sum(TotalCost) AS spend_usd,
    sum(Calls) AS calls,
    uniqExactMerge(Traces) AS traces,
    min(FirstCall) AS first_call,
    max(LastCall) AS last_call
FROM
(
    SELECT SessionId, TotalCost, Calls, Traces, FirstCall, LastCall
    FROM llm_session_costs
    WHERE ({tenant:String} = '' OR Tenant = {tenant:String})
      AND Day > toDate(since)
    UNION ALL
    SELECT
        SessionId,
        sum(TotalCost) AS TotalCost,
        count() AS Calls,
        uniqExactState(TraceId) AS Traces,
        min(Timestamp) AS FirstCall,
        max(Timestamp) AS LastCall
    FROM llm_calls FINAL
    WHERE ({tenant:String} = '' OR Tenant = {tenant:String})
      AND Timestamp >= since AND toDate(Timestamp) = toDate(since)
      AND SessionId != ''
    GROUP BY SessionId
)
GROUP BY session_id
ORDER BY spend_usd DESC, session_id
LIMIT {limit:UInt32}
