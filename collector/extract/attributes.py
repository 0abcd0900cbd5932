# SPDX-License-Identifier: Apache-2.0
"""Which span attributes besides the known dimensions land in `llm_calls.Attributes`, and how many.

Two sources, span first, then resource: every `llmledger.custom.<key>` (what `llmledger.attributes(**custom)`
and the matching OTel baggage keys put on spans; stored under `<key>`), and an allow-list of other attribute
names the operator chose (`--attribute NAME`), stored under their own name. Storage is bounded because these
come from applications, not from us: at most `max_keys` keys per call (the alphabetically first win), keys up
to 128 characters, values cut to `max_value_length` characters. A call whose usage never arrived keeps its
`server.address` as well (`with_host`), so `llmledger report` can say which host sends streams without usage.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .conventions import CUSTOM_PREFIX, READ, SERVER_ADDRESS

MAX_KEY_LENGTH = 128
_REPEAT_PREFIX = itertools.repeat(CUSTOM_PREFIX)


@dataclass(frozen=True, slots=True)
class AttributeSelection:
    names: frozenset[str] = frozenset()  # allow-listed attribute names, stored as they are
    max_keys: int = 32
    max_value_length: int = 256
    wanted: frozenset[str] = field(init=False)  # every key extraction reads: the conventions' and `names`

    def __post_init__(self) -> None:
        names = frozenset(name for name in self.names if name)
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "wanted", READ | names)

    @classmethod
    def of(cls, names: Iterable[str]) -> AttributeSelection:
        return cls(frozenset(names))

    def pick(self, *sources: Mapping[str, Any]) -> dict[str, str]:
        """The attributes to store from `sources` (read attributes, most specific first; the first value wins)."""
        chosen: dict[str, str] = {}
        for found in sources:
            if self.names.isdisjoint(found) and not any(map(str.startswith, found, _REPEAT_PREFIX)):
                continue  # the common case, in C: nothing to pick (no Python loop over every key of every span)
            for key, value in found.items():
                if key.startswith(CUSTOM_PREFIX):
                    name = key[len(CUSTOM_PREFIX) :]
                elif key in self.names:
                    name = key
                else:
                    continue
                if name and len(name) <= MAX_KEY_LENGTH and name not in chosen:
                    chosen[name] = _as_text(value)[: self.max_value_length]
        if len(chosen) > self.max_keys:
            chosen = {key: chosen[key] for key in sorted(chosen)[: self.max_keys]}
        return chosen

    def with_host(self, chosen: dict[str, str], found: Mapping[str, Any]) -> dict[str, str]:
        """`chosen` and the host the call went to (`server.address`), for a call whose usage never arrived: the
        report names that host without the operator having allow-listed the attribute."""
        host = found.get(SERVER_ADDRESS)
        if host is None or SERVER_ADDRESS in chosen:
            return chosen
        return {**chosen, SERVER_ADDRESS: _as_text(host)[: self.max_value_length]}

    def of_resource(self, found: Mapping[str, Any]) -> dict[str, Any]:
        """The part of a resource's read attributes `pick` may use (kept per resource, read once)."""
        return {key: value for key, value in found.items() if key.startswith(CUSTOM_PREFIX) or key in self.names}


DEFAULT: AttributeSelection = AttributeSelection()


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_as_text(item) for item in value)
    if isinstance(value, bytes):
        return value.hex()
    return str(value)
