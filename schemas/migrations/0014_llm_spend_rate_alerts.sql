-- SPDX-License-Identifier: Apache-2.0
-- llm_spend_rate_alerts: the episodes of the collector's spend-rate alert (`spend_rate` in the budget file): a row
-- 'fired' when the last hour's spend rose past its multiple of the trailing baseline, and a row 'ended' when it
-- fell back. Read back at start, so a restarted collector neither fires an episode again nor misses its end
-- (collector/notify/spend_rate.py). Key holds the `per` dimensions' values ({} without `per`).

CREATE TABLE IF NOT EXISTS {database}.llm_spend_rate_alerts
(
    Key Map(String, String),
    Event LowCardinality(String),
    At DateTime64(3, 'UTC'),
    LastHourUsd Decimal(38, 12),
    BaselineUsdPerHour Decimal(38, 12),
    Multiple Decimal(18, 6)
)
ENGINE = MergeTree
ORDER BY At
TTL toDateTime(At) + toIntervalDay(400)
SETTINGS index_granularity = 8192;
