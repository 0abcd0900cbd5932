-- SPDX-License-Identifier: Apache-2.0
-- title: Cost per session (conversation)
-- param: days UInt32 = 30
-- param: tenant String = ''
-- param: limit UInt32 = 100
-- Whole days of the window are read from llm_session_costs (a row per session and day), its first, partial day
-- from llm_session_costs_hourly (the window starts at the hour, as the hourly rollup's does); traces is an exact
-- count. The costliest sessions are found first by their cost alone, and only theirs have their trace sets
-- merged, so the query stays fast on millions of sessions.
WITH
    toStartOfHour(now() - toIntervalDay({days:UInt32})) AS period_start,
    in_window AS (
        SELECT SessionId, TotalCost, Calls, Traces, FirstCall, LastCall
        FROM llm_session_costs
        WHERE ({tenant:String} = '' OR Tenant = {tenant:String})
          AND Day > toDate(period_start)
        UNION ALL
        SELECT SessionId, TotalCost, Calls, Traces, FirstCall, LastCall
        FROM llm_session_costs_hourly
        WHERE ({tenant:String} = '' OR Tenant = {tenant:String})
          AND Hour >= period_start AND toDate(Hour) = toDate(period_start)
    ),
    costliest AS (
        SELECT SessionId
        FROM in_window
        GROUP BY SessionId
        ORDER BY sum(TotalCost) DESC, SessionId
        LIMIT {limit:UInt32}
    )
SELECT
    SessionId AS session_id,
    sum(TotalCost) AS spend_usd,
    sum(Calls) AS calls,
    uniqExactMerge(Traces) AS traces,
    min(FirstCall) AS first_call,
    max(LastCall) AS last_call
FROM in_window
WHERE SessionId IN (SELECT SessionId FROM costliest)
GROUP BY session_id
ORDER BY spend_usd DESC, session_id
