# SPDX-License-Identifier: Apache-2.0
"""Building calls: which spans are LLM calls, and what each one becomes as an `LlmCall`.

This is the reference path, one `LlmCall` object per call, with its costs as Decimals (`costs.apply_cost`) and its
values brought into range (`bounds.bound`). The row builder (`build_rows`) makes the same rows without it, and
takes this path for the unusual span; tests/collector/extract/test_build_rows.py holds the two to the same rows.
Spans come from `read_spans`: their attributes filtered to the keys extraction reads (`conventions.READ`), a span
without any of them already dropped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.trace.v1.trace_pb2 import Span

from llmledger._core.prices import ModelPrice
from llmledger._core.usage import Usage

from ..llm_calls import LlmCall
from . import conventions as names
from .attributes import DEFAULT, AttributeSelection
from .bounds import bound
from .costs import PriceCache, apply_cost
from .read_spans import Scope
from .values import count, flag, number, read, text

_STATUS = ("Unset", "Ok", "Error")
_OPERATION_ALIASES = {"completion": "text_completion", "embedding": "embeddings"}


@dataclass(slots=True)
class Extraction:
    """What one request held: its LLM calls, the prices they were computed with (by id), and its span count."""

    calls: list[LlmCall] = field(default_factory=list)
    prices: dict[str, ModelPrice] = field(default_factory=dict)
    spans: int = 0
    price_cache: PriceCache = field(default_factory=dict, repr=False)


def build_calls(
    scopes: Iterable[Scope], attributes: AttributeSelection = DEFAULT, into: Extraction | None = None
) -> Extraction:
    """The LLM calls of every span of `scopes` (a request as `read_spans.SpanReader.scopes` reads it), with the
    custom and allow-listed `attributes`; appended to `into` when given."""
    result = into if into is not None else Extraction()
    prices_used = result.prices
    price_cache = result.price_cache
    calls = result.calls
    for resource, spans, founds in scopes:
        result.spans += len(spans)
        for span, found in zip(spans, founds, strict=True):
            if found and is_llm_call(found):
                calls.append(_build(span, found, resource, prices_used, price_cache, attributes))
    return result


def span_to_call(
    span: Span,
    resource: Mapping[str, Any],
    prices_used: dict[str, ModelPrice] | None = None,
    price_cache: PriceCache | None = None,
    attributes: AttributeSelection = DEFAULT,
) -> LlmCall | None:
    """One `LlmCall` if `span` is an LLM call, else None. `resource`: `resource_dimensions()` of its resource."""
    found = read(span.attributes, attributes.wanted)
    if not found or not is_llm_call(found):
        return None
    return _build(span, found, resource, {} if prices_used is None else prices_used, price_cache, attributes)


def is_llm_call(found: Mapping[str, Any]) -> bool:
    """Whether a span with these (filtered) attributes is one model call.

    Framework spans that wrap calls (agents, tools, workflows) may carry the usage of their children; counting
    them would double the cost, so an explicit non-call kind or operation wins over any usage attribute.
    """
    kind = found.get(names.OPENINFERENCE_KIND)
    if kind is not None:
        return str(kind).upper() in names.OPENINFERENCE_LLM_KINDS
    if names.TRACELOOP_KIND in found:
        return False  # OpenLLMetry's workflow/task/agent/tool spans; its model-call spans have no kind
    operation = text(found, names.OPERATION)
    if operation in names.NOT_A_CALL_OPERATIONS:
        return False
    if not names.USAGE_KEYS.isdisjoint(found) or not names.COST_KEYS.isdisjoint(found):
        return True
    return _OPERATION_ALIASES.get(operation, operation) in names.CALL_OPERATIONS and bool(
        text(found, names.REQUEST_MODEL) or text(found, names.RESPONSE_MODEL)
    )


_RESPONSE_ID = names.RESPONSE_ID[0]
_MAX_CALL_KEY = 256  # a response id is tens of characters; a longer value is not one, and is not kept
_MAX_OUTPUTS = 1 << 20  # LangSmith's outputs longer than this are not parsed for the id


def call_key(found: Mapping[str, Any]) -> str:
    """The call's identity across instrumentations: the provider's response id, '' when the span has none (or
    the value is no id: empty, or longer than any provider's)."""
    value = found.get(_RESPONSE_ID)
    key = value if value.__class__ is str and value else text(found, names.RESPONSE_ID)
    if not key and names.LANGSMITH_OUTPUTS in found:
        key = langsmith_response_id(found[names.LANGSMITH_OUTPUTS])
    return key if len(key) <= _MAX_CALL_KEY else ""


def usage_of(found: Mapping[str, Any]) -> Usage:
    """Token counts in the inclusive model (see `conventions` for how each convention is normalised)."""
    return Usage(*token_counts(found))


_INPUT, _OUTPUT, _CACHE_READ, _CACHE_WRITE, _REASONING = (
    names.INPUT_TOKENS[0],
    names.OUTPUT_TOKENS[0],
    names.CACHE_READ_TOKENS[0],
    names.CACHE_WRITE_TOKENS[0],
    names.REASONING_TOKENS[0],
)
Counts = tuple[int | None, int | None, int | None, int | None, int | None, int | None]


def token_counts(found: Mapping[str, Any]) -> Counts:
    """`usage_of` as a tuple in `Usage`'s field order (input, output, cache read, cache write, one-hour cache
    write, reasoning), for the column path, which needs no `Usage` object."""
    # A plain int under the first name is `count`'s answer: taken without the call, which every span would pay.
    value = found.get(_INPUT)
    input_tokens = value if value.__class__ is int and value >= 0 else count(found, names.INPUT_TOKENS)
    value = found.get(_OUTPUT)
    output_tokens = value if value.__class__ is int and value >= 0 else count(found, names.OUTPUT_TOKENS)
    value = found.get(_CACHE_READ)
    cache_read = value if value.__class__ is int and value >= 0 else count(found, names.CACHE_READ_TOKENS)
    value = found.get(_CACHE_WRITE)
    cache_write = value if value.__class__ is int and value >= 0 else count(found, names.CACHE_WRITE_TOKENS)
    value = found.get(_REASONING)
    reasoning = value if value.__class__ is int and value >= 0 else count(found, names.REASONING_TOKENS)
    if cache_read is None and cache_write is None:
        if names.LITELLM_USAGE in found:
            cache_read, cache_write = litellm_cache_tokens(found[names.LITELLM_USAGE])
        elif names.LANGSMITH_INPUT_DETAILS in found:
            cache_read, cache_write = langsmith_cache_tokens(found[names.LANGSMITH_INPUT_DETAILS])
    cached = (cache_read or 0) + (cache_write or 0)
    if input_tokens is not None and input_tokens < cached:
        input_tokens += cached  # Anthropic-native exclusive input: an inclusive count holds its subsets
    elif input_tokens is None and cached:
        input_tokens = cached
    if output_tokens is None:
        total = count(found, names.TOTAL_TOKENS)
        if total is not None and input_tokens is not None and total >= input_tokens:
            output_tokens = total - input_tokens
    if reasoning and output_tokens is not None and output_tokens < reasoning:
        output_tokens += reasoning
    return (
        input_tokens,
        output_tokens,
        cache_read,
        cache_write,
        count(found, names.CACHE_WRITE_1H_TOKENS),
        reasoning,
    )


_LITELLM_COUNT = re.compile(r"'(cached_tokens|cache_read_input_tokens|cache_creation_input_tokens)': (\d{1,10})\b")


def litellm_cache_tokens(usage: Any) -> tuple[int | None, int | None]:
    """(cache reads, cache writes) from LiteLLM's usage object as its OTel callback writes it, Python's text of a
    dict (`{'prompt_tokens': 1200, 'prompt_tokens_details': {'cached_tokens': 1024}, …}`): read by pattern, never
    evaluated. OpenAI's `cached_tokens` or Anthropic's `cache_read_input_tokens`, whichever is larger (LiteLLM copies
    one into the other), and `cache_creation_input_tokens`; None for what it does not say."""
    if not isinstance(usage, str):
        return None, None
    found: dict[str, int] = {}
    for name, digits in _LITELLM_COUNT.findall(usage[:4096]):
        found[name] = max(found.get(name, 0), int(digits))
    reads = [found[name] for name in ("cached_tokens", "cache_read_input_tokens") if name in found]
    return (max(reads) if reads else None), found.get("cache_creation_input_tokens")


_LANGSMITH_COUNT = re.compile(r"'(cache_read|cache_creation)': (\d{1,10})\b")


def langsmith_cache_tokens(details: Any) -> tuple[int | None, int | None]:
    """(cache reads, cache writes) from LangChain's input token details as LangSmith's OTel export writes them,
    Python's text of a dict (`{'audio': 0, 'cache_read': 1024}`): read by pattern, never evaluated."""
    if not isinstance(details, str):
        return None, None
    found = {name: int(digits) for name, digits in _LANGSMITH_COUNT.findall(details[:4096])}
    return found.get("cache_read"), found.get("cache_creation")


def langsmith_response_id(outputs: Any) -> str:
    """The response id in a LangChain chat model run's outputs as LangSmith's OTel export writes them (JSON of an
    `LLMResult`): `llm_output.id`, else the first generation's `response_metadata.id`; '' when there is none."""
    if not isinstance(outputs, str) or not outputs.startswith("{") or len(outputs) > _MAX_OUTPUTS:
        return ""
    try:
        result = json.loads(outputs)
        found = (result.get("llm_output") or {}).get("id")
        if not found:
            message = result["generations"][0][0]["message"]
            found = (message.get("kwargs") or message).get("response_metadata", {}).get("id")
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        return ""
    return found if isinstance(found, str) else ""


# What `_described` reads: attributes most spans of a service share (a user or session id is not among them).
_DESCRIBED_KEYS = (
    *names.TENANT,
    names.SERVICE,
    *names.ENVIRONMENT,
    *names.FEATURE,
    *names.PROVIDER,
    *names.OPERATION,
    *names.REQUEST_MODEL,
    *names.RESPONSE_MODEL,
    names.ERROR_TYPE,
    *names.STREAMING,
    names.USAGE_COMPLETE,
)
_Described = tuple[str, str, str, str, str, str, str, str, str, bool, bool]
_described_cache: dict[tuple[Any, ...], _Described] = {}
_DESCRIBED_LIMIT = 4096


def _described(found: Mapping[str, Any]) -> _Described:
    """The span's descriptive fields (tenant, service, environment, feature, provider, operation, request and
    response model, error type, streaming, usage complete), worked out once per distinct set of their attributes:
    the same dozen text lookups give the same answers on nearly every span."""
    values = tuple(map(found.get, _DESCRIBED_KEYS))
    try:
        return _described_cache[values]
    except KeyError:
        pass
    except TypeError:  # a list value (unhashable): work it out every time
        return _describe(found)
    described = _describe(found)
    if len(_described_cache) >= _DESCRIBED_LIMIT:
        _described_cache.clear()
    _described_cache[values] = described
    return described


def _describe(found: Mapping[str, Any]) -> _Described:
    operation = text(found, names.OPERATION)
    return (
        text(found, names.TENANT),
        text(found, (names.SERVICE,)),
        text(found, names.ENVIRONMENT),
        text(found, names.FEATURE),
        names.provider_name(text(found, names.PROVIDER)),
        _OPERATION_ALIASES.get(operation, operation),
        text(found, names.REQUEST_MODEL),
        text(found, names.RESPONSE_MODEL),
        text(found, (names.ERROR_TYPE,)),
        bool(flag(found, names.STREAMING)),
        flag(found, (names.USAGE_COMPLETE,)) is not False,
    )


def _build(
    span: Any,  # a `Span`, or a span `read_spans` read: the same fields but attributes
    found: Mapping[str, Any],
    resource: Mapping[str, Any],
    prices_used: dict[str, ModelPrice],
    price_cache: PriceCache | None,
    attributes: AttributeSelection,
) -> LlmCall:
    start = span.start_time_unix_nano
    end = span.end_time_unix_nano
    status = span.status.code
    usage = usage_of(found)
    ttfc = number(found, names.TIME_TO_FIRST_CHUNK)
    (tenant, service, environment, feature, provider, operation, request_model, response_model, error_type,
     streaming, complete) = _described(found)  # fmt: skip
    call = LlmCall(
        timestamp_ns=start,
        trace_id=span.trace_id.hex(),
        span_id=span.span_id.hex(),
        parent_span_id=span.parent_span_id.hex(),
        span_name=span.name,
        duration_ms=(end - start) / 1e6 if end > start else 0.0,
        time_to_first_chunk_ms=ttfc * 1000 if ttfc else 0.0,
        # Attribution set on the span (`llmledger.attributes()`) wins; the service is the resource's.
        tenant=tenant or resource.get("tenant", ""),
        service_name=resource.get("service_name", "") or service,
        environment=resource.get("environment", "") or environment,
        feature=feature or resource.get("feature", ""),
        user_id=text(found, names.USER) or resource.get("user_id", ""),
        session_id=text(found, names.SESSION) or resource.get("session_id", ""),
        provider=provider,
        operation=operation,
        request_model=request_model,
        response_model=response_model,
        status_code=_STATUS[status] if 0 <= status < 3 else "Unset",
        error_type=error_type,
        finish_reason=text(found, names.FINISH_REASONS),
        is_streaming=streaming,
        usage_complete=complete,
        input_tokens=usage.input_tokens or 0,
        output_tokens=usage.output_tokens or 0,
        cache_read_input_tokens=usage.cache_read_tokens or 0,
        cache_creation_input_tokens=usage.cache_write_tokens or 0,
        reasoning_output_tokens=usage.reasoning_tokens or 0,
        attributes=attributes.pick(found, resource.get("attributes") or {}),
        call_key=call_key(found),
    )
    if call.error_type and call.status_code == "Unset":
        call.status_code = "Error"
    apply_cost(call, found, usage, prices_used, price_cache)
    if not call.usage_complete:
        call.attributes = attributes.with_host(call.attributes, found)
    return bound(call)
