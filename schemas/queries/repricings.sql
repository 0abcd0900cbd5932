-- SPDX-License-Identifier: Apache-2.0
-- title: Re-pricing runs: when, why, with which prices, over what, and the old and new totals of the calls changed
-- One row per `llmledger reprice` run (docs/repricing.md); the calls each run changed are in llm_call_repricings.
-- param: days UInt32 = 90
SELECT
    StartedAt AS started,
    Status AS status,
    Reason AS reason,
    PriceSource AS prices,
    Since AS calls_since,
    Until AS calls_until,
    ModelGlob AS models,
    Calls AS calls,
    OldTotal AS old_total_usd,
    NewTotal AS new_total_usd,
    NewTotal - OldTotal AS change_usd,
    RunId AS run_id
FROM llm_repricing_runs FINAL
WHERE StartedAt >= now() - toIntervalDay({days:UInt32})
ORDER BY StartedAt DESC
