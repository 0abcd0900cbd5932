-- SPDX-License-Identifier: Apache-2.0
-- llm_calls.CallKey: the provider's id of the response (gen_ai.response.id, or another convention's name for it;
-- '' when no span of the call carried one), the identity of a call across every span that reports it.
--
-- The collector keeps one row per call: a second span of the same call (a framework's span around the SDK's, a
-- second exporter's trace, a library's callback) is folded into the row that holds the call, and listed in
-- llm_call_spans (below) instead. A restarted collector reads CallKey and ParentSpanId of the latest rows
-- to fold spans that arrive after a restart the same way. The ordering key does not change: a re-sent span still
-- collapses under FINAL, and a re-priced version of a row (RepricedBy, migration 0010) replaces it by Version as
-- before; it carries the row's CallKey over like every other column.
-- Idempotent: adding the column and the index again, or creating the table again, changes nothing.

ALTER TABLE {database}.llm_calls ADD COLUMN IF NOT EXISTS CallKey String DEFAULT '' CODEC(ZSTD(1));

-- "Which row holds the call with response id X" skips granules.
ALTER TABLE {database}.llm_calls ADD INDEX IF NOT EXISTS idx_call_key CallKey TYPE bloom_filter(0.001) GRANULARITY 1;

-- llm_call_spans: every LLM span that has no row of its own in llm_calls because another row holds its call, and
-- which row that is (KeptTraceId, KeptSpanId) and why (Reason):
--   'same response id'             another span carried the same provider response id (CallKey);
--   'outer span of the call'       an LLM span around the one kept, one of them without a response id: nested LLM
--                                  spans are one call, the innermost kept (different ids: two calls);
--   'inner span after its outer'   the inner span arrived after its outer one was stored, which keeps the call.
-- Among spans of one call that arrive together the row kept has the most complete usage, then the best cost source
-- (provider, instrumentation, collector, unpriced), then cache tokens, then a cost broken down by kind, then the
-- price named. A stored row is never replaced (the rollups would count the call twice): a better span arriving
-- later is listed here.
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
