-- SPDX-License-Identifier: Apache-2.0
-- llmledger: optional = sql_only
-- SQL-only (migration 0008): the view deriving llm_calls from otel_traces, replaced by one that also fills CallKey
-- (migration 0012, with LangSmith's export's id from its outputs' JSON) and reads LiteLLM's OTel callback spans as
-- the collector does: its `gen_ai.cost.*` breakdown (its input cost includes the cache, as OpenInference's prompt
-- cost) and the cached tokens of its usage object, and LangSmith's cached tokens from LangChain's input token
-- details (collector/extract/conventions.py). Every other column reads as before.
--
-- What the collector does and this view does not: keep one row per provider call. Here every LLM span is a row,
-- so an app whose calls are reported by two instrumentations (docs/frameworks.md) counts them twice in SQL-only
-- mode; CallKey shows which rows are one call:
--   SELECT CallKey, count() FROM llm_calls FINAL WHERE CallKey != '' GROUP BY CallKey HAVING count() > 1
--
-- CREATE OR REPLACE, as migration 0007 does and for its reason (atomic). Idempotent: replacing it again gives the
-- same view.

CREATE OR REPLACE MATERIALIZED VIEW {database}.llm_calls_from_otel_traces_mv TO {database}.llm_calls AS
SELECT
    ts AS Timestamp,
    trace_id AS TraceId,
    span_id AS SpanId,
    parent_span_id AS ParentSpanId,
    span_name AS SpanName,
    duration_ms AS DurationMs,
    ttfc_ms AS TimeToFirstChunkMs,
    tenant AS Tenant,
    service AS ServiceName,
    environment AS Environment,
    feature AS Feature,
    user_id AS UserId,
    session_id AS SessionId,
    provider AS Provider,
    operation AS Operation,
    request_model AS RequestModel,
    response_model AS ResponseModel,
    multiIf(reported, reported_model, priced, price_model, '') AS PricedModel,
    status AS StatusCode,
    error_type AS ErrorType,
    finish_reason AS FinishReason,
    streaming AS IsStreaming,
    complete AS UsageComplete,
    toUInt32(least(ifNull(input_tokens, 0), 4294967295)) AS InputTokens,
    toUInt32(least(ifNull(output_tokens, 0), 4294967295)) AS OutputTokens,
    toUInt32(least(ifNull(cache_read, 0), 4294967295)) AS CacheReadInputTokens,
    toUInt32(least(ifNull(cache_write, 0), 4294967295)) AS CacheCreationInputTokens,
    toUInt32(least(ifNull(reasoning, 0), 4294967295)) AS ReasoningOutputTokens,
    assumeNotNull(accurateCastOrNull(x_input, 'Decimal(18, 12)')) AS InputCost,
    assumeNotNull(accurateCastOrNull(x_cache_read, 'Decimal(18, 12)')) AS CacheReadCost,
    assumeNotNull(accurateCastOrNull(x_cache_write, 'Decimal(18, 12)')) AS CacheWriteCost,
    assumeNotNull(accurateCastOrNull(x_output, 'Decimal(18, 12)')) AS OutputCost,
    assumeNotNull(accurateCastOrNull(x_other, 'Decimal(18, 12)')) AS OtherCost,
    assumeNotNull(accurateCastOrNull(x_total, 'Decimal(18, 12)')) AS TotalCost,
    assumeNotNull(accurateCastOrNull(x_savings, 'Decimal(18, 12)')) AS CacheSavings,
    multiIf(reported, reported_source, priced, 'collector', 'unpriced') AS CostSource,
    if(priced, price_id, '') AS PriceId,
    if(reported, currency, 'USD') AS Currency,
    custom AS Attributes,
    call_key AS CallKey
FROM
(
    -- Stage 3: costs, from the span or from the price its model matched, rounded half-even to the columns'
    -- 12 places as the collector rounds them (collector/llm_calls.py).
    SELECT
        *,
        NOT reported AND price_found AND NOT (usage_empty AND status != 'Error') AS priced,
        complete_flag AND NOT (NOT reported AND usage_empty AND status != 'Error') AS complete,
        greatest(toInt64(ifNull(input_tokens, 0)) - ifNull(cache_read, 0) - ifNull(cache_write, 0), 0) AS uncached,
        least(ifNull(cache_write_1h, 0), ifNull(cache_write, 0)) AS cache_write_1h_part,
        toDecimal128('0.000001', 6) AS per_token,
        uncached * rate_input * per_token AS p_input,
        ifNull(cache_read, 0) * rate_cache_read * per_token AS p_cache_read,
        ((ifNull(cache_write, 0) - cache_write_1h_part) * rate_cache_write + cache_write_1h_part * rate_cache_write_1h)
            * per_token AS p_cache_write,
        ifNull(output_tokens, 0) * rate_output * per_token AS p_output,
        p_input + p_cache_read + p_cache_write + p_output AS p_total,
        roundBankers(multiIf(reported, r_input, priced, p_input, 0), 12) AS x_input,
        roundBankers(multiIf(reported, r_cache_read, priced, p_cache_read, 0), 12) AS x_cache_read,
        roundBankers(multiIf(reported, r_cache_write, priced, p_cache_write, 0), 12) AS x_cache_write,
        roundBankers(multiIf(reported, r_output, priced, p_output, 0), 12) AS x_output,
        roundBankers(if(reported, r_other, 0), 12) AS x_other,
        roundBankers(multiIf(reported, r_total, priced, p_total, 0), 12) AS x_total,
        -- What the same usage would have cost at the model's price without the cache, minus what it costs at
        -- that price, whoever computed the call's own cost (collector/extract/costs.py); 0 past a million USD.
        if(
            price_found AND (ifNull(cache_read, 0) > 0 OR ifNull(cache_write, 0) > 0),
            (ifNull(input_tokens, 0) * rate_input + ifNull(output_tokens, 0) * rate_output) * per_token - p_total,
            toDecimal128(0, 15)
        ) AS savings_raw,
        roundBankers(if(abs(savings_raw) < 1000000, savings_raw, 0), 12) AS x_savings
    FROM
    (
        -- Stage 2b: that price's rates at the call's input size (whole-request tiers); a model without a cache
        -- rate bills cache reads and writes at the input rate, a one-hour write at the write rate.
        SELECT
            t.*,
            t.price_id != '' AND prices.PriceId = t.price_id AS price_found,
            prices.Model AS price_model,
            toUInt64(ifNull(input_tokens, 0)) AS tier_input,
            arrayFilter(tier -> tier.1 < tier_input, JSONExtract(prices.Tiers, 'input', 'Array(Tuple(UInt64, String))'))
                AS tiers_input,
            arrayFilter(tier -> tier.1 < tier_input, JSONExtract(prices.Tiers, 'output', 'Array(Tuple(UInt64, String))'))
                AS tiers_output,
            arrayFilter(tier -> tier.1 < tier_input, JSONExtract(prices.Tiers, 'cache_read', 'Array(Tuple(UInt64, String))'))
                AS tiers_cache_read,
            arrayFilter(tier -> tier.1 < tier_input, JSONExtract(prices.Tiers, 'cache_write', 'Array(Tuple(UInt64, String))'))
                AS tiers_cache_write,
            arrayFilter(
                tier -> tier.1 < tier_input, JSONExtract(prices.Tiers, 'cache_write_1h', 'Array(Tuple(UInt64, String))')
            ) AS tiers_cache_write_1h,
            if(empty(tiers_input), toDecimal128(prices.InputPerMTok, 9), toDecimal128OrZero(tiers_input[-1].2, 9))
                AS rate_input,
            if(empty(tiers_output), toDecimal128(prices.OutputPerMTok, 9), toDecimal128OrZero(tiers_output[-1].2, 9))
                AS rate_output,
            multiIf(
                prices.CacheReadPerMTok IS NULL, rate_input,
                empty(tiers_cache_read), toDecimal128(assumeNotNull(prices.CacheReadPerMTok), 9),
                toDecimal128OrZero(tiers_cache_read[-1].2, 9)
            ) AS rate_cache_read,
            multiIf(
                prices.CacheWritePerMTok IS NULL, rate_input,
                empty(tiers_cache_write), toDecimal128(assumeNotNull(prices.CacheWritePerMTok), 9),
                toDecimal128OrZero(tiers_cache_write[-1].2, 9)
            ) AS rate_cache_write,
            multiIf(
                prices.CacheWrite1hPerMTok IS NULL, rate_cache_write,
                empty(tiers_cache_write_1h), toDecimal128(assumeNotNull(prices.CacheWrite1hPerMTok), 9),
                toDecimal128OrZero(tiers_cache_write_1h[-1].2, 9)
            ) AS rate_cache_write_1h
        FROM
        (
            -- Stage 2a: which price: genai-prices' first rule that matches the response model, else the request
            -- model (the request model first on Bedrock, which bills by the model id or profile asked for).
            SELECT
                s.*,
                if(s.provider = 'aws.bedrock', s.request_model, s.response_model) AS first_model,
                if(s.provider = 'aws.bedrock', s.response_model, s.request_model) AS second_model,
                if(
                    first_model = '',
                    '',
                    arrayFirst(
                        rule -> arrayAll(p -> match(lower(first_model), p), rule.1)
                            AND NOT arrayExists(p -> match(lower(first_model), p), rule.2),
                        rules.Rules
                    ).3
                ) AS first_price,
                multiIf(
                    first_price != '', first_price,
                    second_model != '',
                    arrayFirst(
                        rule -> arrayAll(p -> match(lower(second_model), p), rule.1)
                            AND NOT arrayExists(p -> match(lower(second_model), p), rule.2),
                        rules.Rules
                    ).3,
                    ''
                ) AS price_id
            FROM
            (
                -- Stage 1: what the span says, read as collector/extract/build_calls.py reads it.
                SELECT
                    *,
                    coalesce(nullIf(a['gen_ai.operation.name'], ''), nullIf(a['llm.request.type'], ''), '') AS operation_raw,
                    transform(operation_raw, ['completion', 'embedding'], ['text_completion', 'embeddings'], operation_raw)
                        AS operation,
                    coalesce(
                        nullIf(a['gen_ai.request.model'], ''), nullIf(a['llm.model_name'], ''),
                        nullIf(a['llm.request.model'], ''), ''
                    ) AS request_model,
                    coalesce(nullIf(a['gen_ai.response.model'], ''), nullIf(a['llm.response.model'], ''), '')
                        AS response_model,
                    -- The call's identity: the provider's response id, '' past 256 characters (no id is that long).
                    -- LangSmith's export has it only in its outputs' JSON (collector/extract/build_calls.py).
                    a['gen_ai.completion'] AS langsmith_outputs,
                    if(
                        startsWith(langsmith_outputs, '{') AND length(langsmith_outputs) <= 1048576,
                        coalesce(
                            nullIf(JSONExtractString(langsmith_outputs, 'llm_output', 'id'), ''),
                            nullIf(
                                JSONExtractString(
                                    langsmith_outputs, 'generations', 1, 1, 'message', 'kwargs', 'response_metadata', 'id'
                                ),
                                ''
                            )
                        ),
                        NULL
                    ) AS langsmith_id,
                    coalesce(
                        nullIf(a['gen_ai.response.id'], ''), nullIf(a['llm.response.id'], ''), langsmith_id, ''
                    ) AS call_key_raw,
                    if(lengthUTF8(call_key_raw) <= 256, call_key_raw, '') AS call_key,
                    -- Framework spans (agents, tools, workflows) may carry their children's usage: not calls.
                    multiIf(
                        mapContains(a, 'openinference.span.kind'),
                        upper(a['openinference.span.kind']) IN ('LLM', 'EMBEDDING'),
                        mapContains(a, 'traceloop.span.kind'), false,
                        operation_raw IN ('invoke_agent', 'create_agent', 'execute_tool', 'invoke_workflow'), false,
                        hasAny(mapKeys(a), [
                            'gen_ai.usage.input_tokens', 'llm.token_count.prompt', 'gen_ai.usage.prompt_tokens',
                            'gen_ai.usage.output_tokens', 'llm.token_count.completion', 'gen_ai.usage.completion_tokens',
                            'llm.usage.total_tokens', 'gen_ai.usage.total_tokens', 'llm.token_count.total',
                            'gen_ai.usage.cost.amount', 'gen_ai.usage.cost', 'llm.cost.total', 'gen_ai.cost.total_cost'
                        ]), true,
                        operation IN (
                            'chat', 'text_completion', 'generate_content', 'embeddings', 'completion', 'embedding',
                            'rerank', 'responses'
                        ) AND (request_model != '' OR response_model != '')
                    ) AS is_call,
                    lower(trimBoth(coalesce(
                        nullIf(a['gen_ai.provider.name'], ''), nullIf(a['gen_ai.system'], ''),
                        nullIf(a['llm.provider'], ''), nullIf(a['llm.system'], ''), ''
                    ))) AS provider_raw,
                    transform(
                        provider_raw,
                        ['azure', 'azure_openai', 'az.ai.openai', 'aws', 'bedrock', 'aws_bedrock', 'google', 'gemini',
                         'vertexai', 'vertex_ai', 'mistralai', 'mistral', 'xai', 'togetherai', 'together_ai'],
                        ['azure.ai.openai', 'azure.ai.openai', 'azure.ai.openai', 'aws.bedrock', 'aws.bedrock',
                         'aws.bedrock', 'gcp.gen_ai', 'gcp.gemini', 'gcp.vertex_ai', 'gcp.vertex_ai', 'mistral_ai',
                         'mistral_ai', 'x_ai', 'together', 'together'],
                        provider_raw
                    ) AS provider,
                    -- Token counts: the first name present as a whole number (an integral double may read `3.0`),
                    -- then the inclusive model (input holds cache reads and writes, output holds reasoning;
                    -- conventions.py says how each convention is normalised).
                    coalesce(
                        toUInt64OrNull(replaceRegexpOne(a['gen_ai.usage.input_tokens'], '\\.0+$', '')),
                        toUInt64OrNull(replaceRegexpOne(a['llm.token_count.prompt'], '\\.0+$', '')),
                        toUInt64OrNull(replaceRegexpOne(a['gen_ai.usage.prompt_tokens'], '\\.0+$', ''))
                    ) AS input_raw,
                    coalesce(
                        toUInt64OrNull(replaceRegexpOne(a['gen_ai.usage.output_tokens'], '\\.0+$', '')),
                        toUInt64OrNull(replaceRegexpOne(a['llm.token_count.completion'], '\\.0+$', '')),
                        toUInt64OrNull(replaceRegexpOne(a['gen_ai.usage.completion_tokens'], '\\.0+$', ''))
                    ) AS output_raw,
                    coalesce(
                        toUInt64OrNull(replaceRegexpOne(a['gen_ai.usage.cache_read.input_tokens'], '\\.0+$', '')),
                        toUInt64OrNull(replaceRegexpOne(a['gen_ai.usage.cache_read_input_tokens'], '\\.0+$', '')),
                        toUInt64OrNull(replaceRegexpOne(a['llm.token_count.prompt_details.cache_read'], '\\.0+$', ''))
                    ) AS cache_read_given,
                    coalesce(
                        toUInt64OrNull(replaceRegexpOne(a['gen_ai.usage.cache_creation.input_tokens'], '\\.0+$', '')),
                        toUInt64OrNull(replaceRegexpOne(a['gen_ai.usage.cache_write.input_tokens'], '\\.0+$', '')),
                        toUInt64OrNull(replaceRegexpOne(a['gen_ai.usage.cache_creation_input_tokens'], '\\.0+$', '')),
                        toUInt64OrNull(replaceRegexpOne(a['llm.token_count.prompt_details.cache_write'], '\\.0+$', ''))
                    ) AS cache_write_given,
                    -- LiteLLM's OTel callback: its cached tokens only in its usage object, Python's text of a dict,
                    -- read by pattern when no cache count is given (OpenAI's and Anthropic's names, the larger).
                    if(
                        cache_read_given IS NULL AND cache_write_given IS NULL,
                        substring(a['metadata.usage_object'], 1, 4096),
                        ''
                    ) AS litellm_usage,
                    arrayMap(
                        x -> toUInt64(x),
                        extractAll(litellm_usage, '\'(?:cached_tokens|cache_read_input_tokens)\': (\\d{1,10})\\b')
                    ) AS litellm_reads,
                    arrayMap(
                        x -> toUInt64(x), extractAll(litellm_usage, '\'cache_creation_input_tokens\': (\\d{1,10})\\b')
                    ) AS litellm_writes,
                    -- LangSmith's export: LangChain's input token details, Python's text of a dict.
                    if(
                        cache_read_given IS NULL AND cache_write_given IS NULL
                            AND NOT mapContains(a, 'metadata.usage_object'),
                        substring(a['gen_ai.usage.input_token_details'], 1, 4096),
                        ''
                    ) AS langsmith_details,
                    arrayMap(x -> toUInt64(x), extractAll(langsmith_details, '\'cache_read\': (\\d{1,10})\\b'))
                        AS langsmith_reads,
                    arrayMap(x -> toUInt64(x), extractAll(langsmith_details, '\'cache_creation\': (\\d{1,10})\\b'))
                        AS langsmith_writes,
                    multiIf(
                        notEmpty(litellm_reads), toNullable(arrayMax(litellm_reads)),
                        notEmpty(langsmith_reads), toNullable(arrayMax(langsmith_reads)),
                        cache_read_given
                    ) AS cache_read,
                    multiIf(
                        notEmpty(litellm_writes), toNullable(arrayMax(litellm_writes)),
                        notEmpty(langsmith_writes), toNullable(arrayMax(langsmith_writes)),
                        cache_write_given
                    ) AS cache_write,
                    coalesce(
                        toUInt64OrNull(replaceRegexpOne(a['llmledger.usage.cache_creation_1h.input_tokens'], '\\.0+$', '')),
                        toUInt64OrNull(replaceRegexpOne(a['anthropic.usage.cache_creation.ephemeral_1h_input_tokens'], '\\.0+$', ''))
                    ) AS cache_write_1h,
                    coalesce(
                        toUInt64OrNull(replaceRegexpOne(a['gen_ai.usage.reasoning.output_tokens'], '\\.0+$', '')),
                        toUInt64OrNull(replaceRegexpOne(a['gen_ai.usage.reasoning_tokens'], '\\.0+$', '')),
                        toUInt64OrNull(replaceRegexpOne(a['llm.token_count.completion_details.reasoning'], '\\.0+$', ''))
                    ) AS reasoning,
                    coalesce(
                        toUInt64OrNull(replaceRegexpOne(a['llm.usage.total_tokens'], '\\.0+$', '')),
                        toUInt64OrNull(replaceRegexpOne(a['gen_ai.usage.total_tokens'], '\\.0+$', '')),
                        toUInt64OrNull(replaceRegexpOne(a['llm.token_count.total'], '\\.0+$', ''))
                    ) AS total_tokens,
                    ifNull(cache_read, 0) + ifNull(cache_write, 0) AS cached,
                    multiIf(
                        input_raw IS NOT NULL AND input_raw < cached, input_raw + cached,
                        input_raw IS NULL AND cached > 0, toNullable(cached),
                        input_raw
                    ) AS input_tokens,
                    if(
                        output_raw IS NULL AND total_tokens IS NOT NULL AND input_tokens IS NOT NULL
                            AND total_tokens >= input_tokens,
                        toNullable(toUInt64(assumeNotNull(total_tokens) - assumeNotNull(input_tokens))),
                        output_raw
                    ) AS output_inclusive,
                    if(
                        ifNull(reasoning, 0) > 0 AND output_inclusive IS NOT NULL AND output_inclusive < reasoning,
                        output_inclusive + reasoning,
                        output_inclusive
                    ) AS output_tokens,
                    input_tokens IS NULL AND output_tokens IS NULL AS usage_empty,
                    -- The span's own cost: the first name present as a non-negative amount (at most 10^15).
                    coalesce(
                        nullIf(greatest(toDecimal128OrNull(a['gen_ai.usage.cost.amount'], 18), -1), -1),
                        nullIf(greatest(toDecimal128OrNull(a['gen_ai.usage.cost'], 18), -1), -1),
                        nullIf(greatest(toDecimal128OrNull(a['llm.cost.total'], 18), -1), -1),
                        nullIf(greatest(toDecimal128OrNull(a['gen_ai.cost.total_cost'], 18), -1), -1)
                    ) AS c_total_raw,
                    coalesce(
                        nullIf(greatest(toDecimal128OrNull(a['llmledger.cost.input'], 18), -1), -1),
                        nullIf(greatest(toDecimal128OrNull(a['llm.cost.prompt_details.input'], 18), -1), -1)
                    ) AS c_input_raw,
                    coalesce(
                        nullIf(greatest(toDecimal128OrNull(a['llmledger.cost.cache_read'], 18), -1), -1),
                        nullIf(greatest(toDecimal128OrNull(a['llm.cost.prompt_details.cache_read'], 18), -1), -1),
                        nullIf(greatest(toDecimal128OrNull(a['gen_ai.cost.cache_read_cost'], 18), -1), -1)
                    ) AS c_cache_read_raw,
                    coalesce(
                        nullIf(greatest(toDecimal128OrNull(a['llmledger.cost.cache_write'], 18), -1), -1),
                        nullIf(greatest(toDecimal128OrNull(a['llm.cost.prompt_details.cache_write'], 18), -1), -1),
                        nullIf(greatest(toDecimal128OrNull(a['gen_ai.cost.cache_creation_cost'], 18), -1), -1)
                    ) AS c_cache_write_raw,
                    coalesce(
                        nullIf(greatest(toDecimal128OrNull(a['llmledger.cost.output'], 18), -1), -1),
                        nullIf(greatest(toDecimal128OrNull(a['llm.cost.completion'], 18), -1), -1),
                        nullIf(greatest(toDecimal128OrNull(a['gen_ai.cost.output_cost'], 18), -1), -1)
                    ) AS c_output_raw,
                    coalesce(
                        nullIf(greatest(toDecimal128OrNull(a['llm.cost.prompt'], 18), -1), -1),
                        nullIf(greatest(toDecimal128OrNull(a['gen_ai.cost.input_cost'], 18), -1), -1)
                    ) AS c_prompt_raw,
                    toDecimal128('1000000000000000', 18) AS cost_cap,
                    if(c_total_raw IS NULL, NULL, least(c_total_raw, cost_cap)) AS c_total,
                    if(c_input_raw IS NULL, NULL, least(c_input_raw, cost_cap)) AS c_input_given,
                    if(c_cache_read_raw IS NULL, NULL, least(c_cache_read_raw, cost_cap)) AS c_cache_read,
                    if(c_cache_write_raw IS NULL, NULL, least(c_cache_write_raw, cost_cap)) AS c_cache_write,
                    if(c_output_raw IS NULL, NULL, least(c_output_raw, cost_cap)) AS c_output,
                    if(c_prompt_raw IS NULL, NULL, least(c_prompt_raw, cost_cap)) AS c_prompt,
                    hasAny(mapKeys(a), [
                        'gen_ai.usage.cost.amount', 'gen_ai.usage.cost', 'llm.cost.total', 'llmledger.cost.input',
                        'llm.cost.prompt_details.input', 'llmledger.cost.cache_read', 'llm.cost.prompt_details.cache_read',
                        'llmledger.cost.cache_write', 'llm.cost.prompt_details.cache_write', 'llmledger.cost.output',
                        'llm.cost.completion', 'llm.cost.prompt', 'gen_ai.cost.total_cost', 'gen_ai.cost.input_cost',
                        'gen_ai.cost.cache_read_cost', 'gen_ai.cost.cache_creation_cost', 'gen_ai.cost.output_cost'
                    ]) AND NOT (
                        c_total IS NULL AND c_input_given IS NULL AND c_cache_read IS NULL AND c_cache_write IS NULL
                        AND c_output IS NULL
                    ) AS reported,
                    -- OpenInference (and LiteLLM) give all prompt cost; uncached input is the rest of it.
                    if(
                        c_input_given IS NULL AND c_prompt IS NOT NULL,
                        greatest(c_prompt - ifNull(c_cache_read, 0) - ifNull(c_cache_write, 0), 0),
                        c_input_given
                    ) AS c_input,
                    ifNull(c_input, 0) + ifNull(c_cache_read, 0) + ifNull(c_cache_write, 0) + ifNull(c_output, 0)
                        AS parts_sum,
                    if(
                        c_total IS NULL OR abs(c_total - parts_sum) <= toDecimal128('0.000000001', 18)
                            OR c_total < parts_sum,
                        if(
                            c_input IS NOT NULL OR c_cache_read IS NOT NULL OR c_cache_write IS NOT NULL
                                OR c_output IS NOT NULL,
                            parts_sum,
                            ifNull(c_total, 0)
                        ),
                        assumeNotNull(c_total)
                    ) AS r_total,
                    ifNull(c_input, 0) AS r_input,
                    ifNull(c_cache_read, 0) AS r_cache_read,
                    ifNull(c_cache_write, 0) AS r_cache_write,
                    ifNull(c_output, 0) AS r_output,
                    r_total - parts_sum AS r_other,
                    if(a['gen_ai.usage.cost.source'] = 'provider', 'provider', 'instrumentation') AS reported_source,
                    coalesce(nullIf(a['gen_ai.usage.cost.currency'], ''), 'USD') AS currency,
                    a['llmledger.price.model'] AS reported_model,
                    -- Ownership: the span's attribution wins, the service and environment are the resource's.
                    coalesce(
                        nullIf(a['llmledger.tenant'], ''), nullIf(a['tenant.id'], ''),
                        nullIf(r['llmledger.tenant'], ''), nullIf(r['tenant.id'], ''), ''
                    ) AS tenant,
                    coalesce(nullIf(resource_service, ''), nullIf(a['service.name'], ''), '') AS service,
                    coalesce(
                        nullIf(r['deployment.environment.name'], ''), nullIf(r['deployment.environment'], ''),
                        nullIf(a['deployment.environment.name'], ''), nullIf(a['deployment.environment'], ''), ''
                    ) AS environment,
                    coalesce(nullIf(a['llmledger.feature'], ''), nullIf(r['llmledger.feature'], ''), '') AS feature,
                    coalesce(
                        nullIf(a['llmledger.user_id'], ''), nullIf(a['user.id'], ''), nullIf(a['enduser.id'], ''),
                        nullIf(r['llmledger.user_id'], ''), nullIf(r['user.id'], ''), nullIf(r['enduser.id'], ''), ''
                    ) AS user_id,
                    coalesce(
                        nullIf(a['llmledger.session_id'], ''), nullIf(a['session.id'], ''),
                        nullIf(a['gen_ai.conversation.id'], ''), nullIf(r['llmledger.session_id'], ''),
                        nullIf(r['session.id'], ''), nullIf(r['gen_ai.conversation.id'], ''), ''
                    ) AS session_id,
                    a['error.type'] AS error_type,
                    multiIf(
                        status_raw IN ('Ok', 'STATUS_CODE_OK'), 'Ok',
                        status_raw IN ('Error', 'STATUS_CODE_ERROR'), 'Error',
                        error_type != '', 'Error',
                        'Unset'
                    ) AS status,
                    -- Arrays arrive as JSON (the Collector's exporter: ["stop"]; rotel: protobuf JSON, {"values": [...]}):
                    -- a list's first string, as the collector reads it.
                    coalesce(
                        nullIf(
                            multiIf(
                                startsWith(a['gen_ai.response.finish_reasons'], '['), JSONExtractString(a['gen_ai.response.finish_reasons'], 1),
                                startsWith(a['gen_ai.response.finish_reasons'], '{"values":'),
                                JSONExtractString(a['gen_ai.response.finish_reasons'], 'values', 1, 'stringValue'),
                                a['gen_ai.response.finish_reasons']
                            ),
                            ''
                        ),
                        nullIf(
                            multiIf(
                                startsWith(a['anthropic.message.stop_reason'], '['), JSONExtractString(a['anthropic.message.stop_reason'], 1),
                                startsWith(a['anthropic.message.stop_reason'], '{"values":'),
                                JSONExtractString(a['anthropic.message.stop_reason'], 'values', 1, 'stringValue'),
                                a['anthropic.message.stop_reason']
                            ),
                            ''
                        ),
                        ''
                    ) AS finish_reason,
                    multiIf(
                        lower(a['gen_ai.request.stream']) IN ('true', 'false'), lower(a['gen_ai.request.stream']) = 'true',
                        lower(a['llm.is_streaming']) IN ('true', 'false'), lower(a['llm.is_streaming']) = 'true',
                        false
                    ) AS streaming,
                    lower(a['llmledger.usage.complete']) != 'false' AS complete_flag,
                    if(duration_ns > 0 AND duration_ns < 9223372036854775808, duration_ns / 1e6, 0.) AS duration_ms,
                    ifNull(toFloat64OrNull(a['gen_ai.response.time_to_first_chunk']), 0.) * 1000 AS ttfc_ms,
                    -- Custom attributes: `llmledger.custom.<key>` of the span, then of the resource, under <key>:
                    -- keys up to 128 characters, values cut to 256, the alphabetically first 32 keys.
                    mapFilter(
                        (key, value) -> key != '' AND lengthUTF8(key) <= 128,
                        mapApply(
                            (key, value) -> (substring(key, 18), substringUTF8(value, 1, 256)),
                            mapUpdate(
                                mapFilter((key, value) -> startsWith(key, 'llmledger.custom.'), r),
                                mapFilter((key, value) -> startsWith(key, 'llmledger.custom.'), a)
                            )
                        )
                    ) AS custom_all,
                    mapFilter((key, value) -> has(arraySlice(arraySort(mapKeys(custom_all)), 1, 32), key), custom_all)
                        AS custom
                FROM
                (
                    SELECT
                        Timestamp AS ts,
                        TraceId AS trace_id,
                        SpanId AS span_id,
                        ParentSpanId AS parent_span_id,
                        toString(SpanName) AS span_name,
                        Duration AS duration_ns,
                        toString(StatusCode) AS status_raw,
                        toString(ServiceName) AS resource_service,
                        SpanAttributes AS a,
                        ResourceAttributes AS r
                    FROM {database}.otel_traces
                    WHERE hasAny(mapKeys(SpanAttributes), [
                        'openinference.span.kind', 'gen_ai.operation.name', 'llm.request.type',
                        'gen_ai.usage.input_tokens', 'llm.token_count.prompt', 'gen_ai.usage.prompt_tokens',
                        'gen_ai.usage.output_tokens', 'llm.token_count.completion', 'gen_ai.usage.completion_tokens',
                        'llm.usage.total_tokens', 'gen_ai.usage.total_tokens', 'llm.token_count.total',
                        'gen_ai.usage.cost.amount', 'gen_ai.usage.cost', 'llm.cost.total', 'gen_ai.cost.total_cost'
                    ])
                )
                WHERE is_call
            ) AS s
            LEFT JOIN
            (
                SELECT Provider, argMax(Rules, LoadedAt) AS Rules FROM {database}.llm_price_rules GROUP BY Provider
            ) AS rules ON rules.Provider = s.provider
        ) AS t
        LEFT JOIN
        (
            SELECT
                PriceId,
                argMax(Model, RecordedAt) AS Model,
                argMax(InputPerMTok, RecordedAt) AS InputPerMTok,
                argMax(OutputPerMTok, RecordedAt) AS OutputPerMTok,
                argMax(CacheReadPerMTok, RecordedAt) AS CacheReadPerMTok,
                argMax(CacheWritePerMTok, RecordedAt) AS CacheWritePerMTok,
                argMax(CacheWrite1hPerMTok, RecordedAt) AS CacheWrite1hPerMTok,
                argMax(Tiers, RecordedAt) AS Tiers
            FROM {database}.llm_model_prices
            GROUP BY PriceId
        ) AS prices ON prices.PriceId = t.price_id
    )
)
WHERE x_input IS NOT NULL AND abs(x_input) < 1000000 AND abs(x_cache_read) < 1000000
  AND abs(x_cache_write) < 1000000 AND abs(x_output) < 1000000 AND abs(x_other) < 1000000
  AND abs(x_total) < 1000000;
