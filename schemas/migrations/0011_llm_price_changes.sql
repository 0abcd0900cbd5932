-- SPDX-License-Identifier: Apache-2.0
-- llm_price_changes: each change of a model's price the collector noticed (a new price file, refreshed
-- genai-prices data, a dated price coming into force) for a model with calls in the last 30 days: the price it
-- last saw in force (or the one its latest call was costed with) and the price in force now, both in
-- llm_model_prices, which keeps every price it has seen (the new one is recorded there when it is first seen,
-- before any call uses it).
--
-- One row per (provider, model, old price, new price): written before the change is announced, and read back
-- first, so a change is logged and alerted once, also across restarts (collector/repricing/price_changes.py).

CREATE TABLE IF NOT EXISTS {database}.llm_price_changes
(
    Provider LowCardinality(String),
    Model String,
    OldPriceId String,
    NewPriceId String,
    NoticedAt DateTime64(3) DEFAULT now64(3),
    LastCallAt DateTime64(9),
    Calls30d UInt64,
    OldInputPerMTok Decimal(18, 9),
    NewInputPerMTok Decimal(18, 9),
    OldOutputPerMTok Decimal(18, 9),
    NewOutputPerMTok Decimal(18, 9),
    NewSource LowCardinality(String),
    NewVersion String
)
ENGINE = ReplacingMergeTree(NoticedAt)
ORDER BY (Provider, Model, OldPriceId, NewPriceId)
SETTINGS index_granularity = 8192;

-- llm_price_watch: the price in force the collector last saw for each model in use (by PriceId, into
-- llm_model_prices), what a later price is compared with: it covers calls the application costed as well, which
-- carry no PriceId of the collector's.
CREATE TABLE IF NOT EXISTS {database}.llm_price_watch
(
    Provider LowCardinality(String),
    Model String,
    PriceId String,
    SeenAt DateTime64(3) DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(SeenAt)
ORDER BY (Provider, Model)
SETTINGS index_granularity = 8192;
