# SPDX-License-Identifier: Apache-2.0
"""One LLM span per convention, set the way each library sets it, with the `LlmCall` fields it must become.

Used by the unit tests of extraction and by the end-to-end tests (same spans through a collector subprocess).
Costs are worked out by hand from the genai-prices 0.2.3 rates (USD per million tokens):
gpt-4o-mini 0.15 in / 0.075 cache read / 0.6 out; claude-3-5-sonnet 3 in / 0.3 read / 3.75 write (5 min) /
6 write (1 h) / 15 out.

The Anthropic SDK's span is made by the SDK's own attribute code (`anthropic._tracing.set_response_attributes`
and `set_usage_sums`) from a real `anthropic.types.Message`, so a change in what the SDK sets shows up here.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind, Status, StatusCode

D = Decimal


def response_id(prefix: str) -> str:
    """A provider's response id, new at each call: the collector keeps one row per response id, so spans built
    again (by another test, to the same collector) must not repeat one."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


Builder = Callable[[TracerProvider], dict[str, Any]]

_GPT_MINI = {"provider": "openai", "request_model": "gpt-4o-mini"}
_CACHED_MINI = {
    "input_tokens": 1000,
    "output_tokens": 200,
    "cache_read_input_tokens": 400,
    "input_cost": D("0.00009"),  # 600 × 0.15
    "cache_read_cost": D("0.00003"),  # 400 × 0.075
    "output_cost": D("0.00012"),  # 200 × 0.6
    "total_cost": D("0.00024"),
    "cache_savings": D("0.00003"),  # 400 × (0.15 − 0.075)
}
_SONNET = "claude-3-5-sonnet-20241022"


def ours(provider: TracerProvider) -> dict[str, Any]:
    """Our instrumentation: semconv v1.41 + the cost it computed, with attribution from `llmledger.attributes`."""
    tracer = provider.get_tracer("llmledger.instrumentation.openai", "0.1.0")
    with tracer.start_as_current_span("chat gpt-4o-mini", kind=SpanKind.CLIENT) as span:
        span.set_attributes(
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.request.stream": True,
                "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
                "gen_ai.response.finish_reasons": ("stop",),
                "gen_ai.response.time_to_first_chunk": 0.25,
                "gen_ai.usage.input_tokens": 1000,
                "gen_ai.usage.output_tokens": 200,
                "gen_ai.usage.cache_read.input_tokens": 400,
                "gen_ai.usage.cost": 0.00024,
                "gen_ai.usage.cost.amount": 0.00024,
                "gen_ai.usage.cost.currency": "USD",
                "gen_ai.usage.cost.source": "local",
                "llmledger.cost.input": 9e-05,
                "llmledger.cost.cache_read": 3e-05,
                "llmledger.cost.cache_write": 0.0,
                "llmledger.cost.output": 0.00012,
                "llmledger.price.source": "genai-prices",
                "llmledger.price.version": "genai-prices 0.2.3",
                "llmledger.price.model": "gpt-4o-mini",
                "llmledger.tenant": "acme",
                "llmledger.feature": "answer",
                "llmledger.user_id": "user-1",
                "llmledger.session_id": "session-1",
            }
        )
    return {
        **_GPT_MINI,
        **_CACHED_MINI,
        "operation": "chat",
        "response_model": "gpt-4o-mini-2024-07-18",
        "priced_model": "gpt-4o-mini",
        "finish_reason": "stop",
        "is_streaming": True,
        "time_to_first_chunk_ms": 250.0,
        "cost_source": "instrumentation",
        "tenant": "acme",
        "feature": "answer",
        "user_id": "user-1",
        "session_id": "session-1",
    }


def otel_genai(provider: TracerProvider) -> dict[str, Any]:
    """opentelemetry-instrumentation-openai-v2 with `gen_ai_latest_experimental`: current names, no cost."""
    tracer = provider.get_tracer("opentelemetry.instrumentation.openai_v2", "2.2b0")
    with tracer.start_as_current_span("chat gpt-4o-mini", kind=SpanKind.CLIENT) as span:
        span.set_attributes(
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
                "gen_ai.response.id": response_id("chatcmpl"),
                "gen_ai.response.finish_reasons": ("stop",),
                "gen_ai.usage.input_tokens": 1000,
                "gen_ai.usage.output_tokens": 200,
                "gen_ai.usage.cache_read.input_tokens": 400,
                "gen_ai.conversation.id": "conversation-7",
                "server.address": "api.openai.com",
            }
        )
    return {
        **_GPT_MINI,
        **_CACHED_MINI,
        "operation": "chat",
        "response_model": "gpt-4o-mini-2024-07-18",
        "priced_model": "gpt-4o-mini",
        "finish_reason": "stop",
        "cost_source": "collector",
        "session_id": "conversation-7",
    }


def otel_genai_legacy(provider: TracerProvider) -> dict[str, Any]:
    """Older official instrumentations (semconv ≤ 1.26): `gen_ai.system`, prompt/completion tokens."""
    tracer = provider.get_tracer("opentelemetry.instrumentation.openai_v2", "2.0b0")
    with tracer.start_as_current_span("chat gpt-4o-mini", kind=SpanKind.CLIENT) as span:
        span.set_attributes(
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.system": "openai",
                "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.response.model": "gpt-4o-mini",
                "gen_ai.usage.prompt_tokens": 1000,
                "gen_ai.usage.completion_tokens": 200,
            }
        )
    return {
        **_GPT_MINI,
        "operation": "chat",
        "response_model": "gpt-4o-mini",
        "priced_model": "gpt-4o-mini",
        "input_tokens": 1000,
        "output_tokens": 200,
        "input_cost": D("0.00015"),
        "output_cost": D("0.00012"),
        "total_cost": D("0.00027"),
        "cost_source": "collector",
    }


_SONNET_CACHED = {
    "provider": "anthropic",
    "request_model": _SONNET,
    "response_model": _SONNET,
    "priced_model": "claude-3-5-sonnet",
    "operation": "chat",
    "input_tokens": 2110,  # 10 uncached + 100 read + 2000 written
    "output_tokens": 20,
    "cache_read_input_tokens": 100,
    "cache_creation_input_tokens": 2000,
    "input_cost": D("0.00003"),  # 10 × 3
    "cache_read_cost": D("0.00003"),  # 100 × 0.3
    "cache_write_cost": D("0.0075"),  # 2000 × 3.75
    "output_cost": D("0.0003"),  # 20 × 15
    "total_cost": D("0.00786"),
    # without the cache: 2110 × 3 + 20 × 15 = 0.00663; the write premium outweighs one read
    "cache_savings": D("0.00663") - D("0.00786"),
    "cost_source": "collector",
}


def openllmetry(provider: TracerProvider) -> dict[str, Any]:
    """opentelemetry-instrumentation-anthropic (OpenLLMetry): `gen_ai.system: Anthropic`, underscore cache names,
    input summed with the cache (as its current code does)."""
    tracer = provider.get_tracer("opentelemetry.instrumentation.anthropic", "0.40.0")
    with tracer.start_as_current_span("anthropic.chat", kind=SpanKind.CLIENT) as span:
        span.set_attributes(
            {
                "gen_ai.system": "Anthropic",
                "llm.request.type": "chat",
                "gen_ai.request.model": _SONNET,
                "gen_ai.response.model": _SONNET,
                "gen_ai.usage.input_tokens": 2110,
                "gen_ai.usage.output_tokens": 20,
                "llm.usage.total_tokens": 2130,
                "gen_ai.usage.cache_read_input_tokens": 100,
                "gen_ai.usage.cache_creation_input_tokens": 2000,
                "user.id": "user-9",
            }
        )
    return {**_SONNET_CACHED, "user_id": "user-9"}


def openllmetry_exclusive(provider: TracerProvider) -> dict[str, Any]:
    """Old OpenLLMetry: Anthropic's native exclusive `input_tokens` under `gen_ai.usage.prompt_tokens`."""
    tracer = provider.get_tracer("opentelemetry.instrumentation.anthropic", "0.30.0")
    with tracer.start_as_current_span("anthropic.chat", kind=SpanKind.CLIENT) as span:
        span.set_attributes(
            {
                "gen_ai.system": "Anthropic",
                "llm.request.type": "chat",
                "gen_ai.request.model": _SONNET,
                "gen_ai.response.model": _SONNET,
                "gen_ai.usage.prompt_tokens": 10,
                "gen_ai.usage.completion_tokens": 20,
                "gen_ai.usage.cache_read_input_tokens": 100,
                "gen_ai.usage.cache_creation_input_tokens": 2000,
            }
        )
    return dict(_SONNET_CACHED)


def openlit(provider: TracerProvider) -> dict[str, Any]:
    """OpenLIT: `gen_ai.*` tokens and its own computed total in `gen_ai.usage.cost`, no breakdown."""
    tracer = provider.get_tracer("openlit.otel.tracing")
    with tracer.start_as_current_span("chat gpt-4o-mini", kind=SpanKind.CLIENT) as span:
        span.set_attributes(
            {
                "gen_ai.system": "openai",
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
                "gen_ai.usage.input_tokens": 1000,
                "gen_ai.usage.output_tokens": 200,
                "gen_ai.usage.total_tokens": 1200,
                "gen_ai.usage.cost": 0.00027,
                "gen_ai.request.user": "ignored",
            }
        )
    return {
        **_GPT_MINI,
        "operation": "chat",
        "response_model": "gpt-4o-mini-2024-07-18",
        "input_tokens": 1000,
        "output_tokens": 200,
        "other_cost": D("0.00027"),
        "total_cost": D("0.00027"),
        "cost_source": "instrumentation",
    }


def openinference(provider: TracerProvider) -> dict[str, Any]:
    """OpenInference (Arize): `llm.*` token counts and no cost; session and user from its own keys."""
    tracer = provider.get_tracer("openinference.instrumentation.openai", "0.1.30")
    with tracer.start_as_current_span("ChatCompletion") as span:
        span.set_attributes(
            {
                "openinference.span.kind": "LLM",
                "llm.system": "openai",
                "llm.provider": "openai",
                "llm.model_name": "gpt-4o-mini",
                "llm.token_count.prompt": 1000,
                "llm.token_count.completion": 200,
                "llm.token_count.total": 1200,
                "llm.token_count.prompt_details.cache_read": 400,
                "session.id": "session-oi",
                "user.id": "user-oi",
            }
        )
    return {
        **_GPT_MINI,
        **_CACHED_MINI,
        "priced_model": "gpt-4o-mini",
        "cost_source": "collector",
        "session_id": "session-oi",
        "user_id": "user-oi",
    }


def openinference_cost(provider: TracerProvider) -> dict[str, Any]:
    """OpenInference with its `llm.cost.*`: prompt cost holds the cache read, which the breakdown carves out."""
    tracer = provider.get_tracer("openinference.instrumentation.openai", "0.1.30")
    with tracer.start_as_current_span("ChatCompletion") as span:
        span.set_attributes(
            {
                "openinference.span.kind": "LLM",
                "llm.provider": "openai",
                "llm.model_name": "gpt-4o-mini",
                "llm.token_count.prompt": 1000,
                "llm.token_count.completion": 200,
                "llm.token_count.prompt_details.cache_read": 400,
                "llm.cost.prompt": 0.00012,
                "llm.cost.prompt_details.cache_read": 3e-05,
                "llm.cost.completion": 0.00012,
                "llm.cost.total": 0.00024,
            }
        )
    return {**_GPT_MINI, **_CACHED_MINI, "cost_source": "instrumentation"}


def litellm_otel(provider: TracerProvider) -> dict[str, Any]:
    """LiteLLM's OTel callback (`litellm.callbacks = ["otel"]`, LiteLLM 1.110): its cost breakdown under
    `gen_ai.cost.*` (the input cost includes the cache read), its usage object as Python's text of a dict (the one
    place its cached tokens are), `llm.request.type` beside `gen_ai.operation.name`."""
    tracer = provider.get_tracer("litellm")
    with tracer.start_as_current_span("litellm_request") as span:
        span.set_attributes(
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.system": "openai",
                "llm.request.type": "completion",
                "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
                "gen_ai.response.id": (call_key := response_id("chatcmpl")),
                "gen_ai.usage.input_tokens": 1000,
                "gen_ai.usage.output_tokens": 200,
                "gen_ai.usage.total_tokens": 1200,
                "gen_ai.cost.input_cost": 0.00012,
                "gen_ai.cost.cache_read_cost": 3e-05,
                "gen_ai.cost.output_cost": 0.00012,
                "gen_ai.cost.tool_usage_cost": 0.0,
                "gen_ai.cost.total_cost": 0.00024,
                "metadata.usage_object": "{'completion_tokens': 200, 'prompt_tokens': 1000, 'total_tokens': 1200, "
                "'completion_tokens_details': None, 'prompt_tokens_details': {'cached_tokens': 400}}",
                "llm.is_streaming": "False",
            }
        )
    return {
        **_GPT_MINI,
        **_CACHED_MINI,
        "operation": "chat",
        "response_model": "gpt-4o-mini-2024-07-18",
        "cost_source": "instrumentation",
        "call_key": call_key,
    }


def langsmith(provider: TracerProvider) -> dict[str, Any]:
    """LangSmith's OTel export of a LangChain chat model run (`LANGSMITH_OTEL_ENABLED`, langsmith 0.15): no cost,
    the response id only in the run's outputs (JSON of an `LLMResult`), cached tokens as Python's text of a dict."""
    tracer = provider.get_tracer("langsmith")
    outputs = {
        "generations": [[{"text": "Hi", "message": {"kwargs": {"response_metadata": {"id": "chatcmpl-other"}}}}]],
        "llm_output": {"token_usage": {"prompt_tokens": 1000}, "id": (call_key := response_id("chatcmpl"))},
        "type": "LLMResult",
    }
    with tracer.start_as_current_span("ChatOpenAI") as span:
        span.set_attributes(
            {
                "langsmith.span.kind": "llm",
                "gen_ai.operation.name": "chat",
                "gen_ai.system": "openai",
                "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.usage.input_tokens": 1000,
                "gen_ai.usage.output_tokens": 200,
                "gen_ai.usage.total_tokens": 1200,
                "gen_ai.usage.input_token_details": "{'audio': 0, 'cache_read': 400}",
                "gen_ai.completion": json.dumps(outputs),
            }
        )
    return {
        **_GPT_MINI,
        **_CACHED_MINI,
        "operation": "chat",
        "priced_model": "gpt-4o-mini",
        "cost_source": "collector",
        "call_key": call_key,
    }


def anthropic_sdk(provider: TracerProvider) -> dict[str, Any]:
    """The Anthropic SDK's own `anthropic.messages.create` span, attributes set by the SDK's code."""
    from anthropic import _tracing
    from anthropic.lib._tracing._response import set_usage_sums
    from anthropic.types import Message

    message = Message.model_validate(
        {
            "id": response_id("msg"),
            "type": "message",
            "role": "assistant",
            "model": _SONNET,
            "content": [{"type": "text", "text": "Hi"}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {
                "input_tokens": 10,
                "output_tokens": 20,
                "cache_read_input_tokens": 100,
                "cache_creation_input_tokens": 2000,
                "cache_creation": {"ephemeral_5m_input_tokens": 1500, "ephemeral_1h_input_tokens": 500},
            },
        }
    )
    tracer = provider.get_tracer(_tracing.INSTRUMENTATION_SCOPE)
    name = "anthropic.messages.create"
    with tracer.start_as_current_span(
        name,
        kind=SpanKind.CLIENT,
        attributes={
            **_tracing.CLIENT_ATTRIBUTES,
            **_tracing.SPAN_ATTRIBUTES[name]["constants"],
            "gen_ai.request.model": _SONNET,
            "gen_ai.request.max_tokens": 64,
            "server.address": "api.anthropic.com",
        },
    ) as span:
        _tracing.set_response_attributes(span, name, message)
        set_usage_sums(span, message, complete=True, iterations=False)
    one_hour_write = D("0.003")  # 500 × 6
    five_minute_write = D("0.005625")  # 1500 × 3.75
    return {
        **_SONNET_CACHED,
        "finish_reason": "end_turn",
        "cache_write_cost": five_minute_write + one_hour_write,
        "total_cost": D("0.00003") + D("0.00003") + five_minute_write + one_hour_write + D("0.0003"),
        "cache_savings": D("0.00663") - (D("0.00006") + five_minute_write + one_hour_write + D("0.0003")),
    }


def unpriced(provider: TracerProvider) -> dict[str, Any]:
    """A self-hosted model nobody has a price for: unpriced, never $0 computed."""
    tracer = provider.get_tracer("llmledger.instrumentation.openai", "0.1.0")
    with tracer.start_as_current_span("chat llama-local", kind=SpanKind.CLIENT) as span:
        span.set_attributes(
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "vllm",
                "gen_ai.request.model": "llama-local",
                "gen_ai.usage.input_tokens": 50,
                "gen_ai.usage.output_tokens": 5,
                "llmledger.cost.unpriced": True,
            }
        )
        span.set_status(Status(StatusCode.OK))
    return {
        "provider": "vllm",
        "operation": "chat",
        "request_model": "llama-local",
        "input_tokens": 50,
        "output_tokens": 5,
        "cost_source": "unpriced",
        "status_code": "Ok",
    }


CONVENTIONS: dict[str, Builder] = {
    "ours": ours,
    "otel_genai": otel_genai,
    "otel_genai_legacy": otel_genai_legacy,
    "openllmetry": openllmetry,
    "openllmetry_exclusive": openllmetry_exclusive,
    "openlit": openlit,
    "openinference": openinference,
    "openinference_cost": openinference_cost,
    "litellm_otel": litellm_otel,
    "langsmith": langsmith,
    "anthropic_sdk": anthropic_sdk,
    "unpriced": unpriced,
}


def not_llm_calls(provider: TracerProvider) -> None:
    """Spans that must not become rows: plain, agent/workflow wrappers carrying their children's usage,
    an OpenInference chain, and the Anthropic SDK's count_tokens call."""
    tracer = provider.get_tracer("app")
    with tracer.start_as_current_span("GET /", kind=SpanKind.SERVER, attributes={"http.request.method": "GET"}):
        pass
    agent = {"gen_ai.operation.name": "invoke_agent", "gen_ai.usage.input_tokens": 5, "gen_ai.request.model": "x"}
    with tracer.start_as_current_span("invoke_agent helper", attributes=agent):
        pass
    workflow = {"traceloop.span.kind": "workflow", "gen_ai.usage.input_tokens": 5}
    with tracer.start_as_current_span("joke.workflow", attributes=workflow):
        pass
    chain = {"openinference.span.kind": "CHAIN", "llm.token_count.prompt": 5}
    with tracer.start_as_current_span("chain", attributes=chain):
        pass
    count_tokens = {"gen_ai.provider.name": "anthropic", "gen_ai.request.model": _SONNET}
    with tracer.start_as_current_span("anthropic.messages.count_tokens", attributes=count_tokens):
        pass
