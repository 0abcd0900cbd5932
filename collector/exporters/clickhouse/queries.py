# SPDX-License-Identifier: Apache-2.0
"""Named queries: the cost questions users ask of `llm_calls` as `.sql` files they can run and read.

Each `llmledger.schemas/queries/<name>.sql` starts with a header::

    -- title: Spend and tokens by model (top N)
    -- param: days UInt32 = 30
    -- param: tenant String = ''

and uses ClickHouse query parameters (`{days:UInt32}`), so values are bound by the server, never pasted into
SQL. Every parameter has a default (the last 30 days, all tenants), so each query runs as is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any, NamedTuple

from .errors import BadQuery
from .schema_files import schema_folder

_TITLE = re.compile(r"^--\s*title:\s*(.+?)\s*$", re.MULTILINE)
_PARAM = re.compile(r"^--\s*param:\s*(\w+)\s+([\w()]+)\s*=\s*(.*?)\s*$", re.MULTILINE)
_INTEGER = re.compile(r"^U?Int\d+$")


class Param(NamedTuple):  # NamedTuples, not dataclasses: `dataclasses` imports `inspect`, a cost for `llmledger sql`
    name: str
    type: str  # ClickHouse type, as in the query's {name:Type}
    default: str

    def convert(self, text: str) -> Any:
        """`text` as the Python value clickhouse-connect binds for this type; BadQuery if it is not one."""
        if _INTEGER.match(self.type):
            try:
                value = int(text)
            except ValueError:
                raise BadQuery(f"parameter {self.name} must be an integer, got {text!r}") from None
            if self.type.startswith("U") and value < 0:
                raise BadQuery(f"parameter {self.name} must not be negative, got {text!r}")
            return value
        if self.type.startswith("Float"):
            try:
                return float(text)
            except ValueError:
                raise BadQuery(f"parameter {self.name} must be a number, got {text!r}") from None
        return text


class NamedQuery(NamedTuple):
    name: str
    title: str
    sql: str
    params: tuple[Param, ...]

    def bind(self, values: Mapping[str, str] | None = None) -> dict[str, Any]:
        """Parameter values for this query: the defaults, overridden by `values` (text, as typed by a user)."""
        values = dict(values or {})
        known = {param.name for param in self.params}
        unknown = sorted(set(values) - known)
        if unknown:
            accepted = ", ".join(sorted(known)) or "none"
            raise BadQuery(f"query {self.name} has no parameter {', '.join(unknown)} (it takes: {accepted})")
        return {param.name: param.convert(values.get(param.name, param.default)) for param in self.params}


@cache
def named_queries() -> dict[str, NamedQuery]:
    """Every named query, by name, in name order."""
    found = {}
    for path in sorted(schema_folder("queries").glob("*.sql")):
        text = path.read_text(encoding="utf-8")
        title = _TITLE.search(text)
        params = tuple(Param(m.group(1), m.group(2), _unquote(m.group(3))) for m in _PARAM.finditer(text))
        found[path.stem] = NamedQuery(path.stem, title.group(1) if title else path.stem, text, params)
    return found


def named_query(name: str) -> NamedQuery:
    """The query called `name`; BadQuery listing the names when there is none."""
    queries = named_queries()
    if name not in queries:
        raise BadQuery(f"no named query {name!r}; known: {', '.join(queries)}")
    return queries[name]


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text
