-- SPDX-License-Identifier: Apache-2.0
-- title: Price changes of models in use: the price of the latest calls, the price in force when it was noticed
-- Written by the collector when a price file or a genai-prices refresh changes the price of a model called in the
-- last 30 days (docs/repricing.md); both prices are in llm_model_prices.
-- param: days UInt32 = 90
SELECT
    NoticedAt AS noticed,
    Provider AS provider,
    Model AS model,
    OldInputPerMTok AS old_input_per_mtok,
    NewInputPerMTok AS new_input_per_mtok,
    OldOutputPerMTok AS old_output_per_mtok,
    NewOutputPerMTok AS new_output_per_mtok,
    Calls30d AS calls_last_30_days,
    LastCallAt AS last_call,
    concat(NewSource, ' ', NewVersion) AS new_price_from
FROM llm_price_changes FINAL
WHERE NoticedAt >= now() - toIntervalDay({days:UInt32})
ORDER BY NoticedAt DESC, provider, model
