# SPDX-License-Identifier: Apache-2.0
"""The collector's unit of work: one LLM call, as it becomes a row of `llm_calls`.

Extraction (any span convention → rows), the queue (rows on disk) and the writer (rows → ClickHouse) meet only
here, so each can change without the others. `LlmCall` is one row: its field names are the column names of
`schemas/migrations/0001_llm_calls.sql` in snake_case, its defaults the columns' defaults ('' and 0, never NULL).
`CallColumns` is many rows by column, the form extraction makes, the queue keeps and the writer sends, with costs
as integers of 10^-12 USD: what the Decimal(18, 12) columns store, exact, and cheap to write.
"""

from __future__ import annotations

import operator
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Literal

# Who computed a call's cost: the instrumentation that made the span (llmledger's, in the application, or any
# other that put a cost on it), the provider (a cost the response reported, e.g. OpenRouter's `usage.cost`,
# passed on as `gen_ai.usage.cost.source = provider`), the collector from its price table (the span had no
# cost), or nobody (`unpriced`: no price known, the costs are 0 and mean unknown). Rows stored before these
# names carry 'reported' (the span's cost) and 'computed' (the collector's).
CostSource = Literal["instrumentation", "provider", "collector", "unpriced"]

_ZERO = Decimal(0)


@dataclass(slots=True)
class LlmCall:
    timestamp_ns: int  # span start, Unix ns
    trace_id: str  # lower-case hex, as otel_traces writes it
    span_id: str
    parent_span_id: str = ""
    span_name: str = ""
    duration_ms: float = 0.0
    time_to_first_chunk_ms: float = 0.0

    tenant: str = ""
    service_name: str = ""
    environment: str = ""
    feature: str = ""
    user_id: str = ""
    session_id: str = ""

    provider: str = ""
    operation: str = ""
    request_model: str = ""
    response_model: str = ""
    priced_model: str = ""  # the model id the price was found under ('' when unpriced)
    status_code: str = ""  # 'Unset' | 'Ok' | 'Error'
    error_type: str = ""
    finish_reason: str = ""
    is_streaming: bool = False
    usage_complete: bool = True

    input_tokens: int = 0  # inclusive of cache reads and writes
    output_tokens: int = 0  # inclusive of reasoning
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0
    reasoning_output_tokens: int = 0

    input_cost: Decimal = _ZERO  # uncached input only
    cache_read_cost: Decimal = _ZERO
    cache_write_cost: Decimal = _ZERO
    output_cost: Decimal = _ZERO
    other_cost: Decimal = _ZERO  # reported totals not broken down by kind land here
    total_cost: Decimal = _ZERO
    cache_savings: Decimal = _ZERO
    cost_source: CostSource = "unpriced"
    price_id: str = ""
    currency: str = "USD"

    attributes: dict[str, str] = field(default_factory=dict)  # allow-listed custom attributes
    # The provider's id of the response ('' when the span carries none): the call's identity across every span
    # that reports it, so that a second instrumentation's span of the same call folds into this row.
    call_key: str = ""


FIELD_NAMES = tuple(f.name for f in fields(LlmCall))
_FIELD_VALUES = operator.attrgetter(*FIELD_NAMES)
COST_FIELDS = tuple(f.name for f in fields(LlmCall) if f.type in ("Decimal", Decimal))
_COST_INDEXES = tuple(FIELD_NAMES.index(name) for name in COST_FIELDS)
_TRACE_ID, _SPAN_ID = FIELD_NAMES.index("trace_id"), FIELD_NAMES.index("span_id")
COST_SCALE = 12  # Decimal(18, 12)
_COST_QUANTUM = Decimal(1).scaleb(-COST_SCALE)
COST_LIMIT = 10**18  # a million USD in units of 10^-12: Decimal(18, 12) holds less


class CallColumns:
    """Calls by column, in `LlmCall` field order, costs as integers scaled by 10^12 (exact: rounded half-even to
    the column's 12 places, as the Decimal(18, 12) column would). Build it with `of()`."""

    __slots__ = ("columns",)

    def __init__(self, columns: list[Sequence[Any]] | None = None) -> None:
        self.columns: list[Sequence[Any]] = columns if columns is not None else [[] for _ in FIELD_NAMES]

    @classmethod
    def of(cls, calls: Sequence[LlmCall]) -> CallColumns:
        """The columns of `calls`; ValueError naming the span and field of a cost Decimal(18, 12) cannot hold."""
        if not calls:
            return cls()
        columns: list[Sequence[Any]] = list(zip(*map(_FIELD_VALUES, calls), strict=True))
        for index in _COST_INDEXES:
            columns[index] = scaled_costs(columns[index], FIELD_NAMES[index], calls)
        return cls(columns)

    def __len__(self) -> int:
        return len(self.columns[0])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CallColumns) and list(map(list, self.columns)) == list(map(list, other.columns))

    def __getitem__(self, rows: slice) -> CallColumns:
        return CallColumns([column[rows] for column in self.columns])

    def take(self, indexes: Sequence[int]) -> CallColumns:
        """The rows at `indexes`, in that order."""
        return CallColumns([[column[index] for index in indexes] for column in self.columns])

    def extend(self, other: CallColumns) -> None:
        columns = self.columns
        for index, values in enumerate(other.columns):
            column = columns[index]
            if not isinstance(column, list):
                column = columns[index] = list(column)
            column.extend(values)

    def keys(self) -> Iterator[str]:
        """Trace id + span id of each row: what the duplicate filter remembers."""
        return map(operator.add, self.columns[_TRACE_ID], self.columns[_SPAN_ID])

    def field(self, name: str) -> Sequence[Any]:
        return self.columns[FIELD_NAMES.index(name)]

    def calls(self) -> list[LlmCall]:
        """Back to `LlmCall`s, costs as Decimals (for tests and tools; the writer sends the columns)."""
        columns = list(self.columns)
        for index in _COST_INDEXES:
            columns[index] = [Decimal(value).scaleb(-COST_SCALE) for value in columns[index]]
        return [LlmCall(*values) for values in zip(*columns, strict=True)]


def scaled_cost(value: Any) -> int:
    """A Decimal cost as an integer of 10^-12 USD, rounded half-even (unchecked: see `scaled_costs`)."""
    # round() of a Decimal is half-even to an int: the same as quantize(1e-12) then scaling, one step less.
    # Most costs are zero (no cache write, nothing "other"): a falsy value is 0 without a Decimal operation.
    return round(value.scaleb(COST_SCALE)) if value else int(value)


def scaled_costs(values: Sequence[Any], name: str, calls: Sequence[LlmCall]) -> list[int]:
    """Costs as integers scaled by 10^12, rounded half-even; ValueError naming the span of the first that
    Decimal(18, 12) cannot hold (a million USD or more, not a number)."""
    try:
        scaled = list(map(scaled_cost, values))
    except (AttributeError, ArithmeticError, ValueError, OverflowError, TypeError):  # not a Decimal, or not finite
        scaled = []
    if not scaled or min(scaled) <= -COST_LIMIT or max(scaled) >= COST_LIMIT:
        return _checked(values, name, calls)
    return scaled


def _checked(values: Sequence[Any], name: str, calls: Sequence[LlmCall]) -> list[int]:
    """`scaled_costs` value by value: floats by their decimal text, the first unstorable value named."""
    scaled = []
    for value, call in zip(values, calls, strict=True):
        try:
            number: int | None = int(_decimal(value).quantize(_COST_QUANTUM, ROUND_HALF_EVEN).scaleb(COST_SCALE))
        except (ArithmeticError, ValueError, TypeError):  # not a number, infinite, or past the context's digits
            number = None
        if number is None or not -COST_LIMIT < number < COST_LIMIT:
            raise ValueError(f"{name}={value} of span {call.trace_id}/{call.span_id} does not fit Decimal(18, 12)")
        scaled.append(number)
    return scaled


def fits(call: LlmCall) -> bool:
    """Whether every cost of `call` fits Decimal(18, 12)."""
    try:
        CallColumns.of([call])
    except ValueError:
        return False
    return True


def scaled_row(call: LlmCall) -> tuple[Any, ...] | None:
    """One call as a `CallColumns` row (costs scaled), or None when a cost does not fit Decimal(18, 12)."""
    try:
        columns = CallColumns.of([call]).columns
    except ValueError:
        return None
    return tuple(column[0] for column in columns)


def storable(calls: Sequence[LlmCall]) -> tuple[CallColumns, int]:
    """The columns of the calls `llm_calls` can hold, and how many it cannot (a cost Decimal(18, 12) cannot hold:
    a million USD or more, or not a number): those are refused as a partial success, never clamped."""
    try:
        return CallColumns.of(calls), 0
    except ValueError:
        kept = [call for call in calls if fits(call)]
        return CallColumns.of(kept), len(calls) - len(kept)


def _decimal(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))
