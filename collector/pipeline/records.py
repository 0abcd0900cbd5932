# SPDX-License-Identifier: Apache-2.0
"""What one accepted request becomes in the durable queue: up to two records, one per consumer.

    F + the request's protobuf bytes                                          for the forwarder (sent unchanged)
    M + length + marshal((call field names, call columns))
      + pickle((prices, raw span rows[, folded spans[, upgrades]]))           for the writer
    C + pickle((call field names, call columns, prices, raw span rows[, folded spans[, upgrades]]))
                                                                              the same, when marshal cannot write it

A metrics or logs request, which the collector only passes on, becomes one forward record, tagged with its
signal: G (metrics: M was taken) or L (logs) + the request's protobuf bytes. The writer skips all three kinds.

The store record holds the rows *after* extraction and the duplicate filter, exactly as they will be inserted:
a batch re-formed from the same queue range after a restart is then the same rows under the same token. Calls
are kept by column (`CallColumns`), costs as the integers of 10^-12 USD the writer sends as they are. The
columns (ints, floats, strings, bools, dicts of strings) are written with `marshal`, faster than pickle both ways
for such values, which matters because every call crosses it twice: written by whoever extracted it (a worker
process, or the receiving thread) and read by the writer. Its format (version 4) has been the same since Python
3.4. A value marshal refuses (extraction makes none; a subclass of str, say) sends the record to pickle, `C`.
Records name their fields, and a record whose fields are not this version's is refused with an error naming
both, never read into the wrong columns; a record of the version before `call_key` (its fields are this version's
but the last) is read with an empty call key, so a queue left by that version is written after an upgrade. Folded
spans (`call_merger`: spans of a call another row holds, for `llm_call_spans`) follow the raw span rows when a
request has any, and upgrades (`call_merger.UPGRADE_COLUMNS`: a stored row taking a later span's better record)
follow them when it has any, so the records of requests without any are as the version before wrote them. The queue
directory is the collector's own (like ClickHouse's data directory), so unpickling it trusts no one new.
"""

from __future__ import annotations

import marshal
import pickle
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from llmledger._core.prices import ModelPrice

from ..llm_calls import FIELD_NAMES, CallColumns

if TYPE_CHECKING:  # a name for annotations only: the extraction workers import this module, and need no protobuf
    from ..otlp.signals import Signal

FORWARD = b"F"
FORWARD_METRICS = b"G"
FORWARD_LOGS = b"L"
_FORWARD_TAGS: dict[Signal, bytes] = {"traces": FORWARD, "metrics": FORWARD_METRICS, "logs": FORWARD_LOGS}
_SIGNALS: dict[bytes, Signal] = {tag: signal for signal, tag in _FORWARD_TAGS.items()}
STORE = b"M"
_STORE_PICKLED = b"C"  # all pickled: for a value marshal cannot write
_LENGTH = struct.Struct("<I")  # of the marshalled part
_MARSHAL_VERSION = 4


@dataclass(slots=True)
class Rows:
    calls: CallColumns = field(default_factory=CallColumns)
    prices: dict[str, ModelPrice] = field(default_factory=dict)
    raw: list[Sequence[Any]] = field(default_factory=list)
    folded: list[Sequence[Any]] = field(default_factory=list)  # `call_merger.FOLDED_COLUMNS` rows
    upgrades: list[Sequence[Any]] = field(default_factory=list)  # `call_merger.UPGRADE_COLUMNS` rows

    def __len__(self) -> int:
        return len(self.calls) + len(self.raw) + len(self.folded) + len(self.upgrades)

    def extend(self, other: Rows) -> None:
        self.calls.extend(other.calls)
        self.prices.update(other.prices)
        self.raw.extend(other.raw)
        self.folded.extend(other.folded)
        self.upgrades.extend(other.upgrades)


def forward_record(body: bytes, signal: Signal = "traces") -> bytes:
    """The forward record of one request of `signal` (its protobuf bytes)."""
    return _FORWARD_TAGS[signal] + body


def store_record(
    calls: CallColumns,
    prices: Mapping[str, ModelPrice],
    raw: list[Sequence[Any]],
    folded: Sequence[Sequence[Any]] = (),
    upgrades: Sequence[Sequence[Any]] = (),
) -> bytes:
    """The store record of `calls`, the `prices` they were costed with (by id), `raw` span rows, the spans
    `folded` into a call another row holds, and the `upgrades` of stored rows by the better of those."""
    columns = calls.columns if len(calls) else []
    extra: tuple[Any, ...] = (list(folded), list(upgrades)) if upgrades else (list(folded),) if folded else ()
    try:
        marshalled = marshal.dumps((FIELD_NAMES, columns), _MARSHAL_VERSION)
    except ValueError:  # a value marshal cannot write (extraction makes none; a subclass of str, say): all pickled
        return _STORE_PICKLED + pickle.dumps((FIELD_NAMES, columns, dict(prices), raw, *extra), pickle.HIGHEST_PROTOCOL)
    rest = pickle.dumps((dict(prices), raw, *extra), pickle.HIGHEST_PROTOCOL)
    return b"".join((STORE, _LENGTH.pack(len(marshalled)), marshalled, rest))


def rows(payload: bytes) -> Rows | None:
    """The rows of a store record; None for a record of another consumer. ValueError for a record of calls with
    other fields than this version's `LlmCall`."""
    tag = payload[:1]
    if tag == STORE:
        view = memoryview(payload)
        end = 1 + _LENGTH.size + _LENGTH.unpack_from(view, 1)[0]
        names, columns = marshal.loads(view[1 + _LENGTH.size : end])
        prices, raw, *folded = pickle.loads(view[end:])
    elif tag == _STORE_PICKLED:
        names, columns, prices, raw, *folded = pickle.loads(memoryview(payload)[1:])
    else:
        return None
    folded_rows = folded[0] if folded else []
    upgrades = folded[1] if len(folded) > 1 else []
    if not columns:
        return Rows(CallColumns(), prices, raw, folded_rows, upgrades)
    columns = list(columns)
    if tuple(names) == FIELD_NAMES[:-1] and FIELD_NAMES[-1] == "call_key":  # the version before call keys
        columns.append([""] * len(columns[0]))
    elif tuple(names) != FIELD_NAMES:
        raise ValueError(
            f"a queued record holds calls with the fields {', '.join(names)}, not this collector's "
            f"{', '.join(FIELD_NAMES)}: it was written by another version"
        )
    return Rows(CallColumns(columns), prices, raw, folded_rows, upgrades)


def body(payload: bytes) -> bytes | None:
    """The request bytes of a traces forward record; None for any other record."""
    return payload[1:] if payload[:1] == FORWARD else None


def forwarded(payload: bytes) -> tuple[Signal, memoryview] | None:
    """The signal and request bytes (a view into the record, not a copy) of a forward record of any signal; None
    for a record of another consumer."""
    signal = _SIGNALS.get(payload[:1])
    return None if signal is None else (signal, memoryview(payload)[1:])
