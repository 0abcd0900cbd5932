# SPDX-License-Identifier: Apache-2.0
"""Building rows: the spans `read_spans` read → `CallColumns`, without an `LlmCall` per span: the hot path.

`build_rows(scopes)` gives exactly what `llm_calls.storable(build_calls(scopes).calls)` gives (the same rows in
the same order, the same prices, the same count of calls refused), with much less work: a common span becomes
one tuple in `CallColumns` field order (but the last field, the call key, gathered beside the tuples), its costs
computed in integers (`integer_costs`) or, when the span reports its own (as llmledger's spans do), read by
`costs.reported`, its descriptive fields from `build_calls`' per-shape memo. Anything unusual takes the `LlmCall`
path (`build_calls`, `bounds.bound`, `llm_calls`) for that span alone: a price whose rates are not exact integers
of 10⁻¹² USD per token, any value `bound` would clamp, any cost `llm_calls` cannot hold.
tests/collector/extract/test_build_rows.py holds the two paths to the same rows.

`_row` is the Python reference of one span's row; `_build_rows.c` is the same in C, for the spans the C reader
read (`native_row`). Given the C row builder, `build_rows` offers it each span first; it builds the common ones and
answers None for anything else, which Python then decides and builds. Whether it is given is chosen once, when the
collector makes its `Extractor`. tests/collector/extract/test_build_rows_in_c.py holds the two to the same rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from llmledger._core.cost import same_all_day
from llmledger._core.integer_costs import IntegerPrice, integer_price
from llmledger._core.prices import ModelPrice

from ..llm_calls import COST_LIMIT, CallColumns, scaled_cost, scaled_row
from . import build_calls
from . import conventions as names
from .attributes import DEFAULT, AttributeSelection
from .bounds import MAX_ATTRIBUTES, MAX_MS, MAX_TEXT, MAX_TIMESTAMP_NS, MAX_TOKENS
from .build_calls import _STATUS, _build, _described, call_key, is_llm_call, token_counts
from .costs import _COST_KEYS, PriceCache, price_for, reported, reported_source
from .read_spans import ScannedSpan, Scope
from .values import Found, number, text

# Declared, since it is None without a C compiler at install; _build_rows.pyi lets mypy resolve the import.
_build_rows: ModuleType | None
try:
    from . import _build_rows  # `_row` in C, for spans the C reader read
except ImportError:
    _build_rows = None

NATIVE = _build_rows is not None and ScannedSpan is not None  # whether the C row builder (and its reader) was built
_configured = False  # whether `configure_native` ran: the C builder keeps its configuration process-wide
_UNPRICED = (0, 0, 0, 0, 0, 0)
_Row = tuple[Any, ...]
NativeRow = Callable[..., "_Row | None"]
assert not any(key.startswith(names.CUSTOM_PREFIX) for key in names.READ)  # what `_row`'s custom-attribute test needs


@dataclass(slots=True)
class ExtractedColumns:
    """One request's storable calls by column, the prices they used (by id), its span count, and how many LLM
    calls were refused (a cost of a million USD or more, or not a number)."""

    spans: int = 0
    columns: CallColumns = field(default_factory=CallColumns)
    prices: dict[str, ModelPrice] = field(default_factory=dict)
    rejected: int = 0


@dataclass(slots=True)
class _Pricing:
    """Price lookups of one request, shared with the `Decimal` path (`cache`), and the prices used (by id)."""

    used: dict[str, ModelPrice] = field(default_factory=dict)
    cache: PriceCache = field(default_factory=dict)
    entries: dict[tuple[str, str, str, int], Any] = field(default_factory=dict)  # `_build_rows.row`'s lookups

    def of(
        self, provider: str, response_model: str, request_model: str, timestamp_ns: int
    ) -> tuple[ModelPrice | None, IntegerPrice | None]:
        """(price or None, its `IntegerPrice` or None) for a call; both are remembered where they are made."""
        price = price_for(provider, response_model, request_model, timestamp_ns, self.cache)
        return price, None if price is None else integer_price(price)

    def entry(self, provider: str, response_model: str, request_model: str, timestamp_ns: int) -> Any:
        """`of` as `_build_rows.row` reads it: None (no price), False (`_row` decides: not an integer price, or
        one that changes within the day, which `_build_rows.row`'s cache by day cannot hold), or (price, its id,
        its model, tier starts, integer rates per tier)."""
        if not same_all_day(provider, response_model, request_model, timestamp_ns):
            return False
        price, integer = self.of(provider, response_model, request_model, timestamp_ns)
        if price is None:
            return None
        if integer is None:
            return False
        return (price, price.id, price.model, *integer.tiers)


def build_rows(
    scopes: Iterable[Scope], attributes: AttributeSelection = DEFAULT, fast_row: NativeRow | None = None
) -> ExtractedColumns:
    """The storable LLM calls of `scopes` (a request as `read_spans.SpanReader.scopes` reads it) as
    `CallColumns`, with the custom and allow-listed `attributes`; each span offered first to `fast_row` when
    given (`native_row()`: the C row builder)."""
    result = ExtractedColumns()
    pricing = _Pricing(result.prices)
    rows: list[_Row] = []
    call_keys: list[str] = []  # the last column, `call_key`, which the row builders leave out
    fast, wanted, chosen = fast_row, attributes.wanted, attributes.names
    entries, used, entry = pricing.entries, pricing.used, pricing.entry
    for resource, spans_read, founds in scopes:
        result.spans += len(spans_read)
        for span, found in zip(spans_read, founds, strict=True):
            if not found:
                continue
            # C builds the row of a common LLM call; for anything else, Python decides whether it is one.
            row = None if fast is None else fast(span, found, resource, wanted, chosen, entries, used, entry)
            if row is None:
                if not is_llm_call(found):
                    continue
                row = _row(span, found, resource, pricing, attributes)
            if row is None:  # the LlmCall path, for this span only
                row = scaled_row(_build(span, found, resource, pricing.used, pricing.cache, attributes))
                if row is None:
                    result.rejected += 1
                    continue
                row = row[:-1]
            rows.append(row)
            call_keys.append(call_key(found))
    if rows:
        result.columns = CallColumns([*zip(*rows, strict=True), call_keys])
    return result


def _row(
    span: Any, found: dict[str, Any], resource: dict[str, Any], pricing: _Pricing, attributes: AttributeSelection
) -> _Row | None:
    """The span's row (`build_calls._build`, `costs.apply_cost`, then `llm_calls`' scaling), or None when it needs the
    `LlmCall` path: `bound` would change it, its price is not an integer one, or a cost does not fit."""
    input_tokens, output_tokens, cache_read, cache_write, cache_write_1h, reasoning = token_counts(found)
    inputs = input_tokens or 0
    outputs = output_tokens or 0
    reads = cache_read or 0
    writes = cache_write or 0
    reasoned = reasoning or 0
    start = span.start_time_unix_nano
    end = span.end_time_unix_nano
    duration = (end - start) / 1e6 if end > start else 0.0
    ttfc = number(found, names.TIME_TO_FIRST_CHUNK)
    first_chunk = ttfc * 1000 if ttfc else 0.0
    if (
        max(inputs, outputs, reads, writes, reasoned) > MAX_TOKENS
        or start > MAX_TIMESTAMP_NS
        or not 0 <= duration <= MAX_MS
        or not 0 <= first_chunk <= MAX_MS  # NaN fails both
    ):
        return None
    (tenant, service, environment, feature, provider, operation, request_model, response_model, error_type,
     streaming, complete) = _described(found)  # fmt: skip
    status = span.status.code
    status_code = _STATUS[status] if 0 <= status < 3 else "Unset"
    if error_type and status_code == "Unset":
        status_code = "Error"
    own = _reported_columns(found)
    currency = "USD"
    if own is not None:  # the span's cost, kept; our price only tells what the cache saved
        input_cost, read_cost, write_cost, output_cost, other_cost, total, priced_model, currency = own
        savings = 0
        if reads or writes:
            price, integer = pricing.of(provider, response_model, request_model, start)
            if price is not None:
                if integer is None:
                    return None  # a rate with more than six decimals: Decimal
                savings = integer.costs(inputs, outputs, reads, writes, cache_write_1h or 0)[5]
        costs = (input_cost, read_cost, write_cost, output_cost, total, savings)
        price_id = ""
        source = reported_source(found)
    else:
        other_cost = 0
        if input_tokens is None and output_tokens is None and status_code != "Error":
            complete = False  # nothing to price: unpriced, flagged incomplete
            price, integer = None, None
        else:
            price, integer = pricing.of(provider, response_model, request_model, start)
        if price is None:
            costs = _UNPRICED
            priced_model = price_id = ""
            source = "unpriced"
        elif integer is None:
            return None  # a rate with more than six decimals: Decimal
        else:
            costs = integer.costs(inputs, outputs, reads, writes, cache_write_1h or 0)
            priced_model = price.model
            price_id = price.id
            source = "collector"
            if price_id:
                pricing.used[price_id] = price
    if not -COST_LIMIT < min(costs) <= max(costs) < COST_LIMIT or not -COST_LIMIT < other_cost < COST_LIMIT:
        return None  # refused or clamped, by the LlmCall path
    resource_custom = resource["attributes"]
    if not resource_custom and attributes.wanted.issuperset(found) and attributes.names.isdisjoint(found):
        custom: dict[str, str] = {}  # nothing to pick, found in C: no custom key (`read` keeps only those and `wanted`)
    else:
        custom = attributes.pick(found, resource_custom or {})
    if not complete:
        custom = attributes.with_host(custom, found)
    if custom and (len(custom) > MAX_ATTRIBUTES or max(map(len, custom.values())) > MAX_TEXT):
        return None
    trace_id = span.trace_id.hex()
    span_id = span.span_id.hex()
    parent_span_id = span.parent_span_id.hex()
    span_name = span.name
    tenant = tenant or resource["tenant"]
    service = resource["service_name"] or service
    environment = resource["environment"] or environment
    feature = feature or resource["feature"]
    user_id = text(found, names.USER) or resource["user_id"]
    session_id = text(found, names.SESSION) or resource["session_id"]
    finish_reason = text(found, names.FINISH_REASONS)
    texts = (
        trace_id, span_id, parent_span_id, span_name, tenant, service, environment, feature, user_id, session_id,
        provider, operation, request_model, response_model, priced_model, error_type, finish_reason, currency,
    )  # fmt: skip
    if len("".join(texts)) > MAX_TEXT:
        return None
    input_cost, read_cost, write_cost, output_cost, total, savings = costs
    return (
        start, trace_id, span_id, parent_span_id, span_name, duration, first_chunk,
        tenant, service, environment, feature, user_id, session_id,
        provider, operation, request_model, response_model, priced_model, status_code, error_type, finish_reason,
        streaming, complete,
        inputs, outputs, reads, writes, reasoned,
        input_cost, read_cost, write_cost, output_cost, other_cost, total, savings, source, price_id, currency,
        custom,
    )  # fmt: skip


def _reported_columns(found: Found) -> tuple[int, int, int, int, int, int, str, str] | None:
    """The cost the span reports (`costs.reported`) in integers of 10⁻¹² USD, (input, cache read, cache write,
    output, other, total), then the priced model and currency it names; None when it reports none."""
    own = reported(found)
    if own is None:
        return None
    input_cost, read_cost, write_cost, output_cost, other_cost, total = map(scaled_cost, own)
    priced_model = text(found, (names.PRICED_MODEL,))
    currency = text(found, (names.COST_CURRENCY,)) or "USD"
    return input_cost, read_cost, write_cost, output_cost, other_cost, total, priced_model, currency


def native_row() -> NativeRow | None:
    """The C row builder, configured (once, on first use); None when it is not built."""
    if _build_rows is None or ScannedSpan is None:
        return None
    return _build_rows.row if _configured else configure_native()


def configure_native(
    reported_columns: Callable[[Found], tuple[int, int, int, int, int, int, str, str] | None] = _reported_columns,
) -> NativeRow | None:
    """`_build_rows.row`, told the names and limits `_row` uses; None without the C extensions. `reported_columns`
    reads the reported costs the C does not (a cost in a string, more than 18 decimals, a million USD or more).

    The configuration is the process's: call it at start, or from a test that needs another `reported_columns`
    (and again without it after), never while rows are being built."""
    global _configured
    if _build_rows is None or ScannedSpan is None:
        return None
    _build_rows.configure(
        span_type=ScannedSpan,
        tokens=(
            names.INPUT_TOKENS,
            names.OUTPUT_TOKENS,
            names.CACHE_READ_TOKENS,
            names.CACHE_WRITE_TOKENS,
            names.CACHE_WRITE_1H_TOKENS,
            names.REASONING_TOKENS,
        ),
        total=names.TOTAL_TOKENS,
        time_to_first_chunk=names.TIME_TO_FIRST_CHUNK,
        user=names.USER,
        session=names.SESSION,
        finish_reasons=names.FINISH_REASONS,
        cost_keys=_COST_KEYS,
        cost_names=(
            names.COST_TOTAL,
            names.COST_INPUT,
            names.COST_CACHE_READ,
            names.COST_CACHE_WRITE,
            names.COST_OUTPUT,
        ),
        prompt_cost=names.COST_PROMPT,
        priced_model=(names.PRICED_MODEL,),
        currency=(names.COST_CURRENCY,),
        cost_source=names.COST_SOURCE,
        server_address=names.SERVER_ADDRESS,
        python_only=names.USAGE_TEXTS,
        openinference_kind=names.OPENINFERENCE_KIND,
        llm_kinds=tuple(sorted(names.OPENINFERENCE_LLM_KINDS)),
        traceloop_kind=names.TRACELOOP_KIND,
        operation=names.OPERATION,
        not_a_call=names.NOT_A_CALL_OPERATIONS,
        call_keys=tuple(sorted(names.USAGE_KEYS | names.COST_KEYS)),
        call_operations=frozenset(
            operation
            for operation in {*names.CALL_OPERATIONS, *build_calls._OPERATION_ALIASES}
            if build_calls._OPERATION_ALIASES.get(operation, operation) in names.CALL_OPERATIONS
        ),
        model_names=names.REQUEST_MODEL + names.RESPONSE_MODEL,
        described_keys=build_calls._DESCRIBED_KEYS,
        described_cache=build_calls._described_cache,
        described=_described,
        reported=reported_columns,
        statuses=_STATUS,
        max_tokens=MAX_TOKENS,
        max_timestamp_ns=MAX_TIMESTAMP_NS,
        max_ms=MAX_MS,
        max_text=MAX_TEXT,
        cost_limit=COST_LIMIT,
    )
    _configured = True
    row: NativeRow = _build_rows.row
    return row
