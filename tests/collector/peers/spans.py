# SPDX-License-Identifier: Apache-2.0
"""The OTLP requests the comparisons send down two paths: what the instrumented app exported (its calls carry
their cost), and one request holding a span of every convention tests/collector/conventions.py knows (most carry
no cost, so the price of their model applies), with spans that are not calls and a few edge cases beside them."""

from __future__ import annotations

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

from tests.collector.conventions import CONVENTIONS, not_llm_calls

from .apps import LLM_CALLS, run_traced_app
from .peers import OtlpCapture

RESOURCE = {
    "service.name": "conventions-app",
    "deployment.environment": "staging",
    "tenant.id": "acme",
    "llmledger.custom.team": "core",
}


def app_requests() -> list[bytes]:
    """The protobuf bodies traced_app.py exports over OTLP/HTTP, one run."""
    with OtlpCapture() as capture:
        run_traced_app(capture.endpoint, protocol="http/protobuf")
    assert capture.bodies
    return capture.bodies


def conventions_request() -> bytes:
    """One ExportTraceServiceRequest: every convention's span, the spans that are not calls, and the extras below."""
    provider = TracerProvider(resource=Resource.create(RESOURCE))
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    for build in CONVENTIONS.values():
        build(provider)
    not_llm_calls(provider)
    _extras(provider)
    provider.shutdown()
    return encode_spans(memory.get_finished_spans()).SerializeToString()


_EXTRAS: list[tuple[str, dict[str, object], StatusCode]] = [
    # A whole-request tier: Gemini 2.5 Pro over 200k input tokens, with cache reads.
    (
        "generate_content gemini-2.5-pro",
        {
            "gen_ai.operation.name": "generate_content",
            "gen_ai.provider.name": "gcp.vertex_ai",
            "gen_ai.request.model": "gemini-2.5-pro",
            "gen_ai.usage.input_tokens": 250_000,
            "gen_ai.usage.output_tokens": 1_000,
            "gen_ai.usage.cache_read.input_tokens": 100_000,
            "gen_ai.response.time_to_first_chunk": 0.25,
            "gen_ai.request.stream": True,
            "user.id": "user-7",
            "session.id": "session-3",
        },
        StatusCode.OK,
    ),
    # A cost below 1e-6, which the Collector's exporter writes in exponent form (8e-7).
    (
        "embeddings text-embedding-3-small",
        {
            "gen_ai.operation.name": "embeddings",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "text-embedding-3-small",
            "gen_ai.usage.input_tokens": 8,
            "gen_ai.usage.cost": 8e-7,
        },
        StatusCode.UNSET,
    ),
    # A call that failed before any usage: priced at zero tokens, not flagged as missing usage.
    (
        "chat gpt-4o",
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o",
            "error.type": "RateLimitError",
        },
        StatusCode.UNSET,
    ),
    # A call whose usage never came: unpriced and flagged.
    (
        "chat gpt-4o-mini",
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o-mini",
            "llmledger.feature": "search",
        },
        StatusCode.OK,
    ),
    # A cost the provider reported, in the span.
    (
        "chat openrouter",
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openrouter",
            "gen_ai.request.model": "anthropic/claude-3.5-sonnet",
            "gen_ai.usage.input_tokens": 100,
            "gen_ai.usage.output_tokens": 20,
            "gen_ai.usage.cost": 0.002,
            "gen_ai.usage.cost.source": "provider",
            "gen_ai.response.finish_reasons": ["length"],
        },
        StatusCode.OK,
    ),
]


def _extras(provider: TracerProvider) -> None:
    tracer = provider.get_tracer("extras")
    for name, attributes, status in _EXTRAS:
        with tracer.start_as_current_span(name, kind=SpanKind.CLIENT, attributes=attributes) as span:  # type: ignore[arg-type]
            span.set_status(Status(status))


# The LLM calls in app_requests() and conventions_request() together (the spans of not_llm_calls are none).
CALLS_SENT = LLM_CALLS + len(CONVENTIONS) + len(_EXTRAS)
