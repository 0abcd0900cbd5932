-- SPDX-License-Identifier: Apache-2.0
-- llm_budget_alerts as the claim of one alert by one collector, so that several collectors evaluating the same
-- budgets fire each threshold once (collector/budgets/alerts.py): each inserts the alert with its own ClaimedBy
-- under a deduplication token naming the budget, key, threshold and window; ClickHouse keeps the first insert
-- and drops the others (the deduplication window below), and only the collector whose ClaimedBy was kept
-- announces it. On a cluster the alerts of one budget, key, threshold and window are on one shard (the table is
-- sharded by its ordering key), where the token is seen. Rows written before this migration have ClaimedBy ''.
-- Idempotent: adding the column and setting the window again changes nothing.

ALTER TABLE {database}.llm_budget_alerts ADD COLUMN IF NOT EXISTS ClaimedBy String DEFAULT '';

ALTER TABLE {database}.llm_budget_alerts MODIFY SETTING non_replicated_deduplication_window = 1000;
