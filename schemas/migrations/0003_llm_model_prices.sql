-- SPDX-License-Identifier: Apache-2.0
-- llm_model_prices: every price that produced a cost in llm_calls, keyed by llm_calls.PriceId.
--
-- Rates are USD per million tokens (the base rate when a price is tiered; Tiers then holds
-- [[input tokens above which, rate], …] per kind as JSON). Nullable only where "no such rate" differs from 0:
-- a model without a cache-read rate is billed cache reads at the input rate.
-- ReplacingMergeTree(RecordedAt): the writer records a price each time it uses it; one row per PriceId remains.
-- Join: SELECT … FROM llm_calls c LEFT JOIN llm_model_prices p FINAL ON p.PriceId = c.PriceId

CREATE TABLE IF NOT EXISTS {database}.llm_model_prices
(
    PriceId String,
    Provider LowCardinality(String),
    Model String,
    Source LowCardinality(String),
    Version String,
    Currency LowCardinality(String) DEFAULT 'USD',
    InputPerMTok Decimal(18, 9),
    OutputPerMTok Decimal(18, 9),
    CacheReadPerMTok Nullable(Decimal(18, 9)),
    CacheWritePerMTok Nullable(Decimal(18, 9)),
    CacheWrite1hPerMTok Nullable(Decimal(18, 9)),
    Tiers String DEFAULT '',
    RecordedAt DateTime64(3) DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(RecordedAt)
ORDER BY PriceId
SETTINGS index_granularity = 8192;
