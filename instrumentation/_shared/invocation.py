# SPDX-License-Identifier: Apache-2.0
"""The life of one LLM call as a span: start, record what the response says, price it, end exactly once.

Provider modules only translate their SDK's requests and responses into `Request` and `Response`; every
attribute, metric and cost is set here, once for all providers.

The span is llmledger's own, started with the invocation, unless the SDK may trace the call itself (the Anthropic
SDK does): then the invocation starts without one (`span_later`), and either `adopt`s the SDK's span of the call,
which then carries everything llmledger records, or starts its own (`own_span`) where the SDK made none. Until then
what is set on `span` is kept and goes on whichever span the call gets.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from opentelemetry import context as otel_context
from opentelemetry.trace import INVALID_SPAN_CONTEXT, NonRecordingSpan, Span, SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from llmledger._core import attributes as attr
from llmledger._core.cost import compute, price_of
from llmledger._core.integer_costs import integer_price
from llmledger._core.prices import ModelPrice
from llmledger._core.usage import Usage

from .. import attribution
from .fields import field as read_field
from .telemetry import Telemetry

_log = logging.getLogger(__name__)


class Hold(Protocol):
    """A budget reservation (budgets/_ledger.py), kept abstract here so the span lifecycle needs no budgets."""

    def close(self, cost: Decimal | None, complete: bool = True) -> None: ...


_NO_USAGE = Usage()  # immutable, so one instance serves every call without a response


@dataclass(slots=True)
class Request:
    """What the caller asked for, read before the SDK is called."""

    operation: str
    model: str | None
    streaming: bool = False
    attributes: dict[str, AttributeValue] = field(default_factory=dict)
    # Content is read only when capture is on, so these are thunks: the hot path never serialises prompts.
    input_messages: Callable[[], Any] | None = None


@dataclass(slots=True)
class Response:
    """What the provider answered; any field may be unknown."""

    id: str | None = None
    model: str | None = None
    finish_reasons: Sequence[str] | None = None
    usage: Usage = field(default_factory=Usage)
    reported_cost: Decimal | None = None  # a cost the provider itself put in the response (OpenRouter)
    attributes: dict[str, AttributeValue] = field(default_factory=dict)
    output_messages: Callable[[], Any] | None = None
    # How the call was served where that changes its price, e.g. (("service_tier", "flex"),).
    price_variant: tuple[tuple[str, str], ...] = ()
    # Searches the provider billed (Cohere's rerank), priced per search beside any tokens.
    search_units: int | None = None


class PendingSpan(NonRecordingSpan):
    """Stands for a call's span until the call has one (`Invocation(span_later=True)`): the name, start attributes
    and parent context of the span llmledger would start, plus what is set meanwhile (a budget's overrun), for
    whichever span the call gets. It is not current while the SDK call runs, so it parents nothing."""

    def __init__(self, name: str, attributes: dict[str, AttributeValue], parent: otel_context.Context) -> None:
        super().__init__(INVALID_SPAN_CONTEXT)
        self.name = name
        self.attributes = attributes
        self.parent = parent

    def set_attribute(self, key: str, value: AttributeValue) -> None:
        self.attributes[key] = value

    def set_attributes(self, attributes: Mapping[str, AttributeValue]) -> None:
        self.attributes.update(attributes)


class Invocation:
    """One call in flight. `finish` is idempotent: the first caller ends the span, later ones do nothing."""

    __slots__ = (
        "_ended",
        "_first_chunk_ns",
        "_start_ns",
        "_start_unix_ns",
        "budget",
        "provider",
        "request",
        "span",
        "telemetry",
    )

    def __init__(
        self,
        telemetry: Telemetry,
        provider: str,
        request: Request,
        server: tuple[str | None, int | None] = (None, None),
        *,
        span_later: bool = False,
    ) -> None:
        self.telemetry = telemetry
        self.provider = provider
        self.request = request
        self._ended = False
        self._first_chunk_ns: int | None = None
        # The budget reservation this call holds, settled to its real cost when it finishes.
        self.budget: Hold | None = None
        attributes: dict[str, AttributeValue] = {
            attr.OPERATION_NAME: request.operation,
            attr.PROVIDER_NAME: provider,
        }
        if request.model:
            attributes[attr.REQUEST_MODEL] = request.model
        if request.streaming:
            attributes[attr.REQUEST_STREAM] = True
        host, port = server
        if host:
            attributes[attr.SERVER_ADDRESS] = host
            if port:
                attributes[attr.SERVER_PORT] = port
        attributes.update(request.attributes)
        attributes.update(attribution.current())
        if telemetry.config.capture_content and request.input_messages is not None:
            attributes[attr.INPUT_MESSAGES] = _json(request.input_messages())
        name = f"{request.operation} {request.model}" if request.model else request.operation
        self._start_unix_ns = time.time_ns()
        self._start_ns = time.perf_counter_ns()
        self.span: Span
        if span_later:
            self.span = PendingSpan(name, attributes, otel_context.get_current())
        else:
            self.span = telemetry.tracer.start_span(
                name, kind=SpanKind.CLIENT, attributes=attributes, start_time=self._start_unix_ns
            )

    @property
    def ended(self) -> bool:
        return self._ended

    @property
    def has_span(self) -> bool:
        """Whether the call has its span yet: always, unless the invocation was started `span_later`."""
        return not isinstance(self.span, PendingSpan)

    def adopt(self, span: Span) -> bool:
        """Record this call on `span`, the SDK's own span of the same call, instead of on a span of llmledger's.

        `span` is given the attributes llmledger's span would have started with, and everything recorded later
        goes on it. False, changing nothing, when the call has its span already.
        """
        pending = self.span
        if not isinstance(pending, PendingSpan):
            return False
        self.span = span
        span.set_attributes(pending.attributes)
        return True

    def own_span(self) -> None:
        """Start llmledger's span for a call that has none yet (the SDK made none): as it would have started with
        the invocation, at the call's start and under the context the call was made in."""
        pending = self.span
        if isinstance(pending, PendingSpan):
            self.span = self.telemetry.tracer.start_span(
                pending.name,
                context=pending.parent,
                kind=SpanKind.CLIENT,
                attributes=pending.attributes,
                start_time=self._start_unix_ns,
            )

    def first_chunk(self) -> None:
        if self._first_chunk_ns is None:
            self._first_chunk_ns = time.perf_counter_ns()

    def finish(
        self,
        response: Response | None = None,
        *,
        error: BaseException | None = None,
        usage_complete: bool | None = None,
    ) -> None:
        """End the span with whatever is known. Never raises: telemetry must not break the app.

        `error` is what the SDK raised: an `Exception` marks the call failed; a cancellation or interrupt
        (a `BaseException` only) just ends it.
        """
        if self._ended:
            return
        self._ended = True
        cost = None
        try:
            self.own_span()  # a call that ended before the SDK made or declined a span of it (refused, invalid)
            cost = self._record(response, error, usage_complete)
        except Exception:
            _log.debug("llmledger: failed to record an LLM call", exc_info=True)
        finally:
            self.span.end()
            if self.budget is not None:
                # A stream (or raw response) that ended before its usage arrived was answered: the provider bills
                # what it generated, which only the provider knows.
                self._settle(self.budget, cost, usage_complete is not False)

    @staticmethod
    def _settle(budget: Hold, cost: Decimal | None, complete: bool) -> None:
        try:
            budget.close(cost, complete)
        except Exception:
            _log.debug("llmledger: failed to settle a budget reservation", exc_info=True)

    def _record(
        self, response: Response | None, error: BaseException | None, usage_complete: bool | None
    ) -> Decimal | None:
        """Set everything known on the span; returns the call's cost in USD, None when unknown."""
        span = self.span
        request = self.request
        # Everything the end of a call adds to the span goes in one `set_attributes`: each call takes the span's
        # lock and walks the attributes again, and this runs once per LLM call.
        attributes: dict[str, AttributeValue] = {}
        metric_attrs: dict[str, AttributeValue] = {
            attr.OPERATION_NAME: request.operation,
            attr.PROVIDER_NAME: self.provider,
        }
        if request.model:
            metric_attrs[attr.REQUEST_MODEL] = request.model
        usage = _NO_USAGE
        response_model = None
        if response is not None:
            usage = response.usage
            response_model = response.model
            _response_attributes(attributes, response, self.telemetry.config.capture_content)
            if response_model:
                metric_attrs[attr.RESPONSE_MODEL] = response_model
        if error is not None and not isinstance(error, Exception):
            # Cancelled (asyncio), interrupted (Ctrl-C) or exiting: the call has no outcome, which is not a
            # failure. As the SDK's `use_span` does, no error status; what is known is recorded, and the usage is
            # incomplete unless a stream had already delivered it.
            error = None
            usage_complete = bool(usage_complete)
        if usage_complete is not None:
            attributes[attr.USAGE_COMPLETE] = usage_complete
        if error is not None:
            error_type = type(error).__qualname__
            attributes[attr.ERROR_TYPE] = error_type
            span.set_status(Status(StatusCode.ERROR, str(error) or error_type))
            metric_attrs[attr.ERROR_TYPE] = error_type

        try:
            total = self._measure(attributes, metric_attrs, response, usage, response_model)
        finally:
            span.set_attributes(attributes)  # what is known, even if pricing or a metric failed
        return total

    def _measure(
        self,
        attributes: dict[str, AttributeValue],
        metric_attrs: dict[str, AttributeValue],
        response: Response | None,
        usage: Usage,
        response_model: str | None,
    ) -> Decimal | None:
        duration_s = (time.perf_counter_ns() - self._start_ns) / 1e9
        ttfc = None
        if self._first_chunk_ns is not None:
            ttfc = (self._first_chunk_ns - self._start_ns) / 1e9
            attributes[attr.RESPONSE_TIME_TO_FIRST_CHUNK] = ttfc
        total = None
        try:
            total = self._cost_attributes(attributes, response, usage, response_model)
        finally:  # duration and tokens are recorded even if pricing failed
            telemetry = self.telemetry
            # Recorded in batches (PendingRecords), so `metric_attrs` must not change after this. Measured with the
            # call's own span current, so that exemplars (when the SDK's filter samples them) point at this call's
            # span, not at whatever span was current in the caller.
            telemetry.records.add(
                (
                    telemetry,
                    duration_s,
                    ttfc,
                    usage.input_tokens,
                    usage.output_tokens,
                    None if total is None else float(total),
                    metric_attrs,
                    self.span.get_span_context(),
                )
            )
        return total

    def _cost_attributes(
        self, attributes: dict[str, AttributeValue], response: Response | None, usage: Usage, model: str | None
    ) -> Decimal | None:
        """Adds the cost attributes of the call; its total in USD, None when unknown."""
        if response is not None and response.reported_cost is not None:
            reported = float(response.reported_cost)
            attributes[attr.USAGE_COST] = reported
            attributes[attr.USAGE_COST_AMOUNT] = reported
            attributes[attr.USAGE_COST_CURRENCY] = "USD"
            attributes[attr.USAGE_COST_SOURCE] = attr.COST_SOURCE_PROVIDER
            return response.reported_cost
        searches = response.search_units if response is not None else None
        if usage.is_empty and searches is None:
            return None  # nothing to price: no usage arrived (flagged by usage.complete on streams)
        price = price_of(
            self.provider,
            model,
            self.request.model,
            self._start_unix_ns,
            response.price_variant if response is not None else (),
        )
        if price is None or (searches is not None and price.search_unit is None):
            attributes[attr.COST_UNPRICED] = True  # a price that says nothing of searches cannot price them
            return None
        if searches is not None:
            return self._search_cost(attributes, price, usage, searches)
        parts = _exact_floats(price, usage)
        if parts is None:  # a rate that is not a whole number of 10⁻¹² USD per token: priced in Decimal
            cost = compute(price, usage)
            total = cost.total
            input_cost, cache_read, cache_write, output = map(
                float, (cost.input, cost.cache_read, cost.cache_write, cost.output)
            )
            total_float = float(total)
        else:
            input_cost, cache_read, cache_write, output, total_float, total = parts
        self._priced(attributes, price, usage, input_cost, cache_read, cache_write, output, total_float)
        return total

    def _search_cost(
        self, attributes: dict[str, AttributeValue], price: ModelPrice, usage: Usage, searches: int
    ) -> Decimal:
        """A call billed per search (and, where its price says so, per token): priced in Decimal."""
        cost = compute(price, usage)
        search_cost = searches * (price.search_unit or Decimal(0))
        total = cost.total + search_cost
        attributes[attr.COST_SEARCH_UNITS] = float(search_cost)
        self._priced(
            attributes,
            price,
            usage,
            float(cost.input),
            float(cost.cache_read),
            float(cost.cache_write),
            float(cost.output),
            float(total),
        )
        return total

    @staticmethod
    def _priced(
        attributes: dict[str, AttributeValue],
        price: ModelPrice,
        usage: Usage,
        input_cost: float,
        cache_read: float,
        cache_write: float,
        output: float,
        total: float,
    ) -> None:
        """The cost attributes of a priced call: its total, the parts whose tokens were reported, the price."""
        attributes[attr.USAGE_COST] = attributes[attr.USAGE_COST_AMOUNT] = total
        attributes[attr.USAGE_COST_CURRENCY] = "USD"
        attributes[attr.USAGE_COST_SOURCE] = attr.COST_SOURCE_LOCAL
        # A part is set when its tokens were reported: OpenAI never reports cache writes, and a $0 cache-write
        # cost on every OpenAI span would state a charge that cannot exist (each attribute also costs the SDK
        # ~6k instructions a call). Readers treat an absent part as zero, as the collector does.
        if usage.input_tokens is not None:
            attributes[attr.COST_INPUT] = input_cost
        if usage.cache_read_tokens is not None:
            attributes[attr.COST_CACHE_READ] = cache_read
        if usage.cache_write_tokens is not None:
            attributes[attr.COST_CACHE_WRITE] = cache_write
        if usage.output_tokens is not None:
            attributes[attr.COST_OUTPUT] = output
        attributes[attr.PRICE_SOURCE] = price.source
        attributes[attr.PRICE_VERSION] = price.version
        attributes[attr.PRICED_MODEL] = price.model
        if price.variant:
            attributes[attr.PRICE_VARIANT] = price.variant


_PICO = 1e12  # 10¹² exactly, as a double
_EXACT_BELOW = 2**53  # integers a double holds exactly


def _exact_floats(price: ModelPrice, usage: Usage) -> tuple[float, float, float, float, float, Decimal] | None:
    """The cost parts and total as the doubles `float(compute(...))` gives, and the total as a Decimal, computed
    in integers of 10⁻¹² USD (`integer_costs`); None when that is not exact for this price or these counts."""
    integers = integer_price(price)
    if integers is None:
        return None
    counts = (
        usage.input_tokens or 0,
        usage.output_tokens or 0,
        usage.cache_read_tokens or 0,
        usage.cache_write_tokens or 0,
        usage.cache_write_1h_tokens or 0,
    )
    if min(counts) < 0:
        return None
    input_cost, cache_read, cache_write, output, total, _savings = integers.costs(*counts)
    if total >= _EXACT_BELOW or min(input_cost, cache_read, cache_write, output) < 0:
        return None  # past 2⁵³ an int is rounded before the division (or a negative rate): the Decimal path
    # No part is negative, so each is at most the total: all are exact doubles, one correctly rounded division each.
    return (
        input_cost / _PICO,
        cache_read / _PICO,
        cache_write / _PICO,
        output / _PICO,
        total / _PICO,
        Decimal(total).scaleb(-12),
    )


def _response_attributes(attributes: dict[str, AttributeValue], response: Response, capture_content: bool) -> None:
    if response.id:
        attributes[attr.RESPONSE_ID] = response.id
    if response.model:
        attributes[attr.RESPONSE_MODEL] = response.model
    if response.finish_reasons:
        attributes[attr.RESPONSE_FINISH_REASONS] = tuple(response.finish_reasons)
    usage = response.usage
    for key, value in zip(_USAGE_KEYS, usage, strict=True):  # a Usage is a tuple of the counts, in this order
        if value is not None:
            attributes[key] = value
    if response.search_units is not None:
        attributes[attr.USAGE_SEARCH_UNITS] = response.search_units
    attributes.update(response.attributes)
    if capture_content and response.output_messages is not None:
        attributes[attr.OUTPUT_MESSAGES] = _json(response.output_messages())


_USAGE_KEYS = tuple(  # the attribute of each of Usage's fields, in its order
    {
        "input_tokens": attr.USAGE_INPUT_TOKENS,
        "output_tokens": attr.USAGE_OUTPUT_TOKENS,
        "cache_read_tokens": attr.USAGE_CACHE_READ_INPUT_TOKENS,
        "cache_write_tokens": attr.USAGE_CACHE_CREATION_INPUT_TOKENS,
        "cache_write_1h_tokens": attr.USAGE_CACHE_CREATION_1H_INPUT_TOKENS,
        "reasoning_tokens": attr.USAGE_REASONING_OUTPUT_TOKENS,
    }[name]
    for name in Usage._fields
)


def _json(value: Any) -> str:
    import json

    return json.dumps(value, default=str, ensure_ascii=False)


def clean(params: Any, names: Mapping[str, str]) -> dict[str, AttributeValue]:
    """Request parameters (a mapping or a config object) as span attributes.

    Only attribute-typed values are kept, which skips SDK sentinels (`omit`, `NOT_GIVEN`), None and objects.
    """
    out: dict[str, AttributeValue] = {}
    if params is None:
        return out
    # SDK kwargs are a plain dict with few of the names set: walk what is set rather than every name.
    pairs = (
        ((names[param], value) for param, value in params.items() if param in names)
        if type(params) is dict
        else ((key, read_field(params, param)) for param, key in names.items())
    )
    for key, value in pairs:
        if value is None or isinstance(value, bool):
            continue
        if isinstance(value, int | float | str):
            out[key] = value
        elif isinstance(value, list | tuple) and value and all(isinstance(v, str) for v in value):
            out[key] = tuple(value)
    return out


# The sampling parameters of a call in OpenAI's chat format (OpenAI's own, and LiteLLM's, which takes the same).
CHAT_PARAMS: Mapping[str, str] = {
    "max_tokens": attr.REQUEST_MAX_TOKENS,
    "max_completion_tokens": attr.REQUEST_MAX_TOKENS,
    "temperature": attr.REQUEST_TEMPERATURE,
    "top_p": attr.REQUEST_TOP_P,
    "frequency_penalty": attr.REQUEST_FREQUENCY_PENALTY,
    "presence_penalty": attr.REQUEST_PRESENCE_PENALTY,
    "seed": attr.REQUEST_SEED,
}


def chat_params(kwargs: Mapping[str, Any], names: Mapping[str, str] = CHAT_PARAMS) -> dict[str, AttributeValue]:
    """`clean` of a call in OpenAI's chat format (`names`: `CHAT_PARAMS` and any the provider adds), with its stop
    sequences (one may be given as a string) and the number of choices asked for, unless 1."""
    attributes = clean(kwargs, names)
    stop = kwargs.get("stop")
    if isinstance(stop, str):
        attributes[attr.REQUEST_STOP_SEQUENCES] = (stop,)
    elif isinstance(stop, list | tuple) and stop and all(isinstance(s, str) for s in stop):
        attributes[attr.REQUEST_STOP_SEQUENCES] = tuple(stop)
    n = kwargs.get("n")
    if isinstance(n, int) and not isinstance(n, bool) and n != 1:
        attributes[attr.REQUEST_CHOICE_COUNT] = n
    return attributes
