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
import pickle
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from llmledger._core.prices import ModelPrice

from ..llm_calls import FIELD_NAMES, CallColumns, LlmCall, fits

if TYPE_CHECKING:  # a name for annotations only: the extraction workers import this module, and need no protobuf
    from ..otlp.signals import Signal

_log = logging.getLogger(__name__)
_DEFAULTS = LlmCall(0, "", "")
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
        marshalled = marshal.dumps((FIELD_NAMES, columns), _MARSHAL_VERSION)
    except ValueError:  # a value marshal cannot write (extraction makes none; a subclass of str, say): all pickled
        return _STORE_PICKLED + pickle.dumps((FIELD_NAMES, columns, dict(prices), raw), pickle.HIGHEST_PROTOCOL)
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
    if tuple(names) == FIELD_NAMES and tag != _STORE_DECIMALS:
        return Rows(CallColumns(list(columns)), prices, raw)
    # An older layout: match fields by name (defaults for those it lacks), costs scaled if they were Decimals.
    by_name = dict(zip(names, columns, strict=True))
    count = len(columns[0])
    ordered = [by_name.get(name) or (getattr(_DEFAULTS, name),) * count for name in FIELD_NAMES]
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
