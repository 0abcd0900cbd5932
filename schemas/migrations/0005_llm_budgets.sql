-- SPDX-License-Identifier: Apache-2.0
-- Shared budgets: a rollup fine enough to sum any budget window, the budget definitions, and fired alerts.
--
-- llm_budget_usage: spend per 15 minutes by every dimension a budget scope or `per` can name (tenant, service,
-- feature, user, model). The hourly rollup has no user and an hour is too coarse for zones such as
-- Asia/Kolkata (+05:30) or Asia/Kathmandu (+05:45); every offset in use today is a multiple of 15 minutes, so
-- calendar windows in any zone are whole buckets. Rolling windows and any other partial bucket at a window's
-- edge are summed from llm_calls instead (see collector/budgets/_sql.py). Read it with sum() and GROUP BY.
-- Like the other rollups it counts a span re-sent in a different batch twice (the collector filters re-sends).
--
-- The status view `llm_budget_status` is not created here: it embeds the time zones of the budget file, so the
-- collector (re)creates it when it syncs the file into llm_budgets at start.

CREATE TABLE IF NOT EXISTS {database}.llm_budget_usage
(
    Bucket DateTime CODEC(Delta(4), ZSTD(1)),
    Tenant LowCardinality(String),
    ServiceName LowCardinality(String),
    Feature LowCardinality(String),
    UserId String,
    Model LowCardinality(String),

    Calls UInt64,
    TotalCost Decimal(38, 12)
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(Bucket)
ORDER BY (Bucket, Tenant, ServiceName, Feature, UserId, Model)
TTL Bucket + toIntervalDay(400)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.llm_budget_usage_mv TO {database}.llm_budget_usage AS
SELECT
    toStartOfFifteenMinutes(Timestamp) AS Bucket,
    Tenant,
    ServiceName,
    Feature,
    UserId,
    Model,
    count() AS Calls,
    sum(TotalCost) AS TotalCost
FROM {database}.llm_calls
GROUP BY Bucket, Tenant, ServiceName, Feature, UserId, Model;

-- Calls stored before this migration: copied once, while the rollup is still empty (migrations run before the
-- collector accepts spans, so nothing else writes to it yet; a re-run finds it non-empty and copies nothing).
INSERT INTO {database}.llm_budget_usage
SELECT toStartOfFifteenMinutes(Timestamp) AS Bucket, Tenant, ServiceName, Feature, UserId, Model, count(), sum(TotalCost)
FROM {database}.llm_calls FINAL
WHERE (SELECT count() FROM {database}.llm_budget_usage) = 0
GROUP BY Bucket, Tenant, ServiceName, Feature, UserId, Model;

-- llm_budgets: the budget file as the collector last synced it (one row per budget name; Deleted = 1 once a
-- budget left the file). Globs are stored as written and as RE2 patterns for match().
CREATE TABLE IF NOT EXISTS {database}.llm_budgets
(
    Name String,
    Scope Map(LowCardinality(String), String),
    TenantPattern String,
    ServicePattern String,
    FeaturePattern String,
    UserPattern String,
    ModelPattern String,
    WindowKind LowCardinality(String),
    WindowHours UInt32,
    Timezone LowCardinality(String),
    LimitUsd Decimal(38, 12),
    Action LowCardinality(String),
    Per Array(LowCardinality(String)),
    Alerts Array(Decimal(18, 6)),
    Version UInt64,
    Deleted UInt8 DEFAULT 0
)
ENGINE = ReplacingMergeTree(Version, Deleted)
ORDER BY Name;

-- llm_budget_alerts: each threshold crossed, once per budget, key and window; read before firing, so a
-- restarted collector does not fire again what it fired before.
CREATE TABLE IF NOT EXISTS {database}.llm_budget_alerts
(
    Name String,
    Key Map(LowCardinality(String), String),
    WindowStart DateTime64(3, 'UTC'),
    WindowEnd DateTime64(3, 'UTC'),
    Threshold Decimal(18, 6),
    SpentUsd Decimal(38, 12),
    LimitUsd Decimal(38, 12),
    FiredAt DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(FiredAt)
ORDER BY (Name, WindowStart, Key, Threshold)
TTL toDateTime(WindowEnd) + toIntervalDay(400);
