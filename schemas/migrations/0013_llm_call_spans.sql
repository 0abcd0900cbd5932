-- SPDX-License-Identifier: Apache-2.0
-- llm_call_spans: every LLM span that has no row of its own in llm_calls because another row holds its call, and
-- which row that is (KeptTraceId, KeptSpanId) and why (Reason):
--   'same response id'             another span carried the same provider response id (CallKey);
--   'outer span of the call'       an LLM span around the one kept: nested LLM spans are one call, the innermost
--                                  kept (unless both carry different response ids: then they are two calls);
--   'inner span after its outer'   the inner span arrived after its outer one was stored, which keeps the call.
-- Among spans of one call that arrive together the row kept has the most complete usage, then the best cost source
-- (provider, instrumentation, collector, unpriced), then cache tokens, then a cost broken down by kind. A stored
-- row is never replaced (the rollups would count the call twice): a better span arriving later is listed here.
-- The folded span's own tokens and cost are kept, so what it would have added can be seen:
--   SELECT s.SpanName, s.Reason, s.TotalCost, c.TotalCost FROM llm_call_spans AS s FINAL
--   JOIN llm_calls AS c FINAL ON c.TraceId = s.KeptTraceId AND c.SpanId = s.KeptSpanId
-- Nothing here is summed into any rollup.
--
-- ReplacingMergeTree(IngestedAt), ordered by the folded span: a span folded again (re-delivered after a restart)
-- collapses to one row under FINAL. Written by the collector with its batch's deduplication token.

CREATE TABLE IF NOT EXISTS {database}.llm_call_spans
(
    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    SpanId String CODEC(ZSTD(1)),
    ParentSpanId String CODEC(ZSTD(1)),
    SpanName LowCardinality(String) CODEC(ZSTD(1)),
    Tenant LowCardinality(String) CODEC(ZSTD(1)),
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    Provider LowCardinality(String) CODEC(ZSTD(1)),
    Model LowCardinality(String) CODEC(ZSTD(1)),
    CallKey String CODEC(ZSTD(1)),
    KeptTraceId String CODEC(ZSTD(1)),
    KeptSpanId String CODEC(ZSTD(1)),
    Reason LowCardinality(String) CODEC(ZSTD(1)),
    InputTokens UInt32 CODEC(T64, ZSTD(1)),
    OutputTokens UInt32 CODEC(T64, ZSTD(1)),
    CacheReadInputTokens UInt32 CODEC(T64, ZSTD(1)),
    TotalCost Decimal(18, 12) CODEC(ZSTD(1)),
    CostSource LowCardinality(String) CODEC(ZSTD(1)),
    IngestedAt DateTime64(3) DEFAULT now64(3) CODEC(Delta(8), ZSTD(1)),

    INDEX idx_kept_span_id KeptSpanId TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_call_key CallKey TYPE bloom_filter(0.001) GRANULARITY 1
)
ENGINE = ReplacingMergeTree(IngestedAt)
PARTITION BY toYYYYMM(Timestamp)
ORDER BY (Tenant, toDate(Timestamp), TraceId, SpanId)
TTL toDateTime(Timestamp) + toIntervalDay(400)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000;
