# SPDX-License-Identifier: Apache-2.0
"""What one accepted request becomes in the durable queue: up to two records, one per consumer.

    F + the request's protobuf bytes                                  for the forwarder (sent on unchanged)
    S + pickle((call field names, call columns, prices, raw span rows))   for the ClickHouse writer

The store record holds the rows *after* extraction and the duplicate filter, exactly as they will be inserted:
a batch re-formed from the same queue range after a restart is then the same rows under the same token. Calls
are pickled by column (a list per field), half the cost of pickling `LlmCall` objects, and carry their field
names so that a backlog written by an older version still loads. The queue directory is the collector's own
(like ClickHouse's data directory), so unpickling it trusts no one new.
"""

from __future__ import annotations

import operator
import pickle
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from llmledger.instrumentation._shared.prices import ModelPrice

from .calls import LlmCall

_FIELD_NAMES = tuple(f.name for f in fields(LlmCall))
_FIELDS = frozenset(_FIELD_NAMES)
_FIELD_VALUES = operator.attrgetter(*_FIELD_NAMES)
FORWARD = b"F"
STORE = b"S"


@dataclass(slots=True)
class Rows:
    calls: list[LlmCall] = field(default_factory=list)
    prices: dict[str, ModelPrice] = field(default_factory=dict)
    raw: list[Sequence[Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.calls) + len(self.raw)

    def extend(self, other: Rows) -> None:
        self.calls.extend(other.calls)
        self.prices.update(other.prices)
        self.raw.extend(other.raw)


def forward_record(body: bytes) -> bytes:
    return FORWARD + body


def store_record(calls: list[LlmCall], prices: Mapping[str, ModelPrice], raw: list[Sequence[Any]]) -> bytes:
    columns = list(zip(*map(_FIELD_VALUES, calls), strict=True)) if calls else []
    return STORE + pickle.dumps((_FIELD_NAMES, columns, dict(prices), raw), protocol=pickle.HIGHEST_PROTOCOL)


def rows(payload: bytes) -> Rows | None:
    """The rows of a store record; None for a record of another consumer."""
    if payload[:1] != STORE:
        return None
    names, columns, prices, raw = pickle.loads(memoryview(payload)[1:])
    if tuple(names) == _FIELD_NAMES:
        calls = [LlmCall(*values) for values in zip(*columns, strict=True)]
    else:  # written by a version whose LlmCall had other fields: match them by name
        known = [(index, name) for index, name in enumerate(names) if name in _FIELDS]
        calls = [LlmCall(**{name: values[index] for index, name in known}) for values in zip(*columns, strict=True)]
    return Rows(calls, prices, raw)


def body(payload: bytes) -> bytes | None:
    """The request bytes of a forward record; None for a record of another consumer."""
    return payload[1:] if payload[:1] == FORWARD else None
