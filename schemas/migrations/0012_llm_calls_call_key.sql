-- SPDX-License-Identifier: Apache-2.0
-- llm_calls.CallKey: the provider's id of the response (gen_ai.response.id, or another convention's name for it;
-- '' when no span of the call carried one), the identity of a call across every span that reports it.
--
-- The collector keeps one row per call: a second span of the same call (a framework's span around the SDK's, a
-- second exporter's trace, a library's callback) is folded into the row that holds the call, and listed in
-- llm_call_spans (migration 0013) instead. A restarted collector reads CallKey and ParentSpanId of the latest rows
-- to fold spans that arrive after a restart the same way. The ordering key does not change: a re-sent span still
-- collapses under FINAL, and a re-priced version of a row (RepricedBy, migration 0010) replaces it by Version as
-- before; it carries the row's CallKey over like every other column.
-- Idempotent: adding the column and the index again changes nothing.

ALTER TABLE {database}.llm_calls ADD COLUMN IF NOT EXISTS CallKey String DEFAULT '' CODEC(ZSTD(1));

-- "Which row holds the call with response id X" skips granules.
ALTER TABLE {database}.llm_calls ADD INDEX IF NOT EXISTS idx_call_key CallKey TYPE bloom_filter(0.001) GRANULARITY 1;
