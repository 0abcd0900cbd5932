# SPDX-License-Identifier: Apache-2.0
"""What one accepted request becomes in the durable queue: up to two records, one per consumer.

    F + the request's protobuf bytes                                          for the forwarder (sent unchanged)
    M + length + marshal((call field names, call columns)) + pickle((prices, raw span rows))   for the writer

A metrics or logs request, which the collector only passes on, becomes one forward record, tagged with its
signal: G (metrics: M was taken) or L (logs) + the request's protobuf bytes. The writer skips all three kinds.

The store record holds the rows *after* extraction and the duplicate filter, exactly as they will be inserted:
a batch re-formed from the same queue range after a restart is then the same rows under the same token. Calls
are kept by column (`CallColumns`: a list per `LlmCall` field), costs as integers in units of 10^-12 USD, which is
what a Decimal(18, 12) column stores: pickling integers costs a fifth of pickling Decimals, and the writer sends
them as they are. The columns (ints, floats, strings, bools, dicts of strings) are written with `marshal`, which
does both ways in half to two thirds of pickle's time for such values: the worker that extracted them writes
the record and the collector's writer reads it, a few µs a span between them. Its format (version 4) has been
the same since Python 3.4 and every Python reads older versions. Records carry their field names, so a backlog
written by an older version still loads; `C` records (all pickled) and `S` records (costs as Decimals, written
before that) still load too. The queue directory is the collector's own (like ClickHouse's data directory), so
unpickling it trusts no one new.
"""

from __future__ import annotations

import logging
import marshal
import operator
import pickle
import struct
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING, Any

from llmledger._core.prices import ModelPrice

from ..llm_calls import LlmCall

if TYPE_CHECKING:  # a name for annotations only: the extraction workers import this module, and need no protobuf
    from ..otlp.signals import Signal

_log = logging.getLogger(__name__)
_FIELD_NAMES = tuple(f.name for f in fields(LlmCall))
_FIELDS = frozenset(_FIELD_NAMES)
_FIELD_VALUES = operator.attrgetter(*_FIELD_NAMES)
_DEFAULTS = LlmCall(0, "", "")
COST_FIELDS = tuple(f.name for f in fields(LlmCall) if f.type in ("Decimal", Decimal))
_COST_INDEXES = tuple(_FIELD_NAMES.index(name) for name in COST_FIELDS)
_TRACE_ID, _SPAN_ID = _FIELD_NAMES.index("trace_id"), _FIELD_NAMES.index("span_id")
COST_SCALE = 12  # Decimal(18, 12)
_COST_QUANTUM = Decimal(1).scaleb(-COST_SCALE)
_SCALED_LIMIT = 10**18  # a million USD in units of 10^-12: Decimal(18, 12) holds less
FORWARD = b"F"
FORWARD_METRICS = b"G"
FORWARD_LOGS = b"L"
_FORWARD_TAGS: dict[Signal, bytes] = {"traces": FORWARD, "metrics": FORWARD_METRICS, "logs": FORWARD_LOGS}
_SIGNALS: dict[bytes, Signal] = {tag: signal for signal, tag in _FORWARD_TAGS.items()}
STORE = b"M"
_STORE_PICKLED = b"C"  # the layout before the columns were marshalled: still read, and written for odd values
_STORE_DECIMALS = b"S"  # the layout before costs were scaled: still read
_LENGTH = struct.Struct("<I")  # of the marshalled part
_MARSHAL_VERSION = 4


class CallColumns:
    """Calls by column, in `LlmCall` field order, costs as integers scaled by 10^12 (exact: rounded half-even to
    the column's 12 places, as the Decimal(18, 12) column would). Build it with `of()`."""

    __slots__ = ("columns",)

    def __init__(self, columns: list[Sequence[Any]] | None = None) -> None:
        self.columns: list[Sequence[Any]] = columns if columns is not None else [[] for _ in _FIELD_NAMES]

    @classmethod
    def of(cls, calls: Sequence[LlmCall]) -> CallColumns:
        """The columns of `calls`; ValueError naming the span and field of a cost Decimal(18, 12) cannot hold."""
        if not calls:
            return cls()
        columns: list[Sequence[Any]] = list(zip(*map(_FIELD_VALUES, calls), strict=True))
        for index in _COST_INDEXES:
            columns[index] = scaled_costs(columns[index], _FIELD_NAMES[index], calls)
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
        return self.columns[_FIELD_NAMES.index(name)]

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
    if not scaled or min(scaled) <= -_SCALED_LIMIT or max(scaled) >= _SCALED_LIMIT:
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
        if number is None or not -_SCALED_LIMIT < number < _SCALED_LIMIT:
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


@dataclass(slots=True)
class Rows:
    calls: CallColumns = field(default_factory=CallColumns)
    prices: dict[str, ModelPrice] = field(default_factory=dict)
    raw: list[Sequence[Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.calls) + len(self.raw)

    def extend(self, other: Rows) -> None:
        self.calls.extend(other.calls)
        self.prices.update(other.prices)
        self.raw.extend(other.raw)


def forward_record(body: bytes, signal: Signal = "traces") -> bytes:
    """The forward record of one request of `signal` (its protobuf bytes)."""
    return _FORWARD_TAGS[signal] + body


def store_record(calls: CallColumns, prices: Mapping[str, ModelPrice], raw: list[Sequence[Any]]) -> bytes:
    columns = calls.columns if len(calls) else []
    try:
        marshalled = marshal.dumps((_FIELD_NAMES, columns), _MARSHAL_VERSION)
    except ValueError:  # a value marshal cannot write (extraction makes none; a subclass of str, say): all pickled
        return _STORE_PICKLED + pickle.dumps((_FIELD_NAMES, columns, dict(prices), raw), pickle.HIGHEST_PROTOCOL)
    rest = pickle.dumps((dict(prices), raw), pickle.HIGHEST_PROTOCOL)
    return b"".join((STORE, _LENGTH.pack(len(marshalled)), marshalled, rest))


def rows(payload: bytes) -> Rows | None:
    """The rows of a store record; None for a record of another consumer."""
    tag = payload[:1]
    if tag == STORE:
        view = memoryview(payload)
        end = 1 + _LENGTH.size + _LENGTH.unpack_from(view, 1)[0]
        names, columns = marshal.loads(view[1 + _LENGTH.size : end])
        prices, raw = pickle.loads(view[end:])
    elif tag in (_STORE_PICKLED, _STORE_DECIMALS):
        names, columns, prices, raw = pickle.loads(memoryview(payload)[1:])
    else:
        return None
    if not columns:
        return Rows(CallColumns(), prices, raw)
    if tuple(names) == _FIELD_NAMES and tag != _STORE_DECIMALS:
        return Rows(CallColumns(list(columns)), prices, raw)
    # An older layout: match fields by name (defaults for those it lacks), costs scaled if they were Decimals.
    by_name = dict(zip(names, columns, strict=True))
    count = len(columns[0])
    ordered = [by_name.get(name) or (getattr(_DEFAULTS, name),) * count for name in _FIELD_NAMES]
    if tag == _STORE_DECIMALS:
        calls = [LlmCall(*values) for values in zip(*ordered, strict=True)]
        kept = [call for call in calls if fits(call)]
        if len(kept) < len(calls):  # this layout was checked only by the writer, which refused the whole batch
            _log.error(
                "a queued batch holds %d call(s) whose cost Decimal(18, 12) cannot hold: left out",
                len(calls) - len(kept),
            )
        return Rows(CallColumns.of(kept), prices, raw)
    return Rows(CallColumns(ordered), prices, raw)


def body(payload: bytes) -> bytes | None:
    """The request bytes of a traces forward record; None for any other record."""
    return payload[1:] if payload[:1] == FORWARD else None


def forwarded(payload: bytes) -> tuple[Signal, bytes] | None:
    """The signal and request bytes of a forward record of any signal; None for a record of another consumer."""
    signal = _SIGNALS.get(payload[:1])
    return None if signal is None else (signal, payload[1:])
