# SPDX-License-Identifier: Apache-2.0
"""One call, one row: which LLM spans report a call another span already reports, and which row holds it.

An app may report one provider call more than once: a framework's own span around the SDK's (pydantic-ai's
`chat gpt-4o-mini` with `instrument_all`, OpenInference's `ChatOpenAI`), a second exporter in a trace of its own
(LangSmith's OTel export), a library's callback (LiteLLM's `otel`). Counting each would multiply the cost. The rule:

* a call is known by the provider's response id (`LlmCall.call_key`) wherever a span carries it, across traces;
* an LLM span whose child is an LLM span, one of them without a response id, is the same call, the child the one
  kept (innermost wins); an outer span with several LLM children is folded into the first, and each child keeps
  its row. Nested spans with different response ids are two calls; with the same one, the rule below chooses;
* among the spans of one call, the row kept is the one with the most complete usage and the best cost source
  (`rank`). Spans that arrive together (one request) are compared at once; a span arriving after its call's row
  was stored folds into that row, and when it ranks better than the record the row holds, the row takes its
  usage, costs and cost source (an *upgrade*, `Folding.upgrades`).

A stored row keeps its identity (time, trace, span, tenant, service, model: the ordering key), and the rollups
count every row inserted into `llm_calls`, so an upgrade is never a second row: the writer corrects the stored row
the way re-pricing does (`exporters.clickhouse.merged_calls`, migrations 0009, 0010, 0015), a journal row in
`llm_call_repricings` that moves every rollup by new − old, tokens included, then a new version of the row whose
`RepricedBy` names the span taken (`merge:<trace id>:<span id>`). It checks the rank again against the row as
stored, so a span delivered twice, or a batch re-read after a crash, moves the rollups once. Spans folded are not
lost: each becomes a row of `llm_call_spans` naming the row that holds its call and why, with its own tokens and
cost (the span whose record a row took is listed there too), so a user sees why a span has no row of its own.

The memory (`CallMerger`) holds the last `capacity` stored calls: their response ids, span ids, parents and the
rank of the record each row holds. A restarted collector seeds it from `llm_calls` (`CallKey`, `ParentSpanId`, the
columns of the rank, latest version) and from the calls still queued, so a span re-sent or arriving late after a
restart is still folded (and upgrades its row only when better), and a span folded again (a re-delivery) lands
on the same `llm_call_spans` row (ReplacingMergeTree on the span). Past the window a late span gets its own row.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from ..llm_calls import COST_SCALE, FIELD_NAMES, CallColumns

# Who computed a cost, best first: what the provider billed, what the instrumentation computed where the call was
# made, what the collector priced, nothing.
_SOURCE_RANK: Final = {"provider": 3, "instrumentation": 2, "reported": 2, "collector": 1, "computed": 1}

# Why a span has no row of its own (`llm_call_spans.Reason`).
SAME_RESPONSE = "same response id"
OUTER_SPAN = "outer span of the call"
LATE_INNER_SPAN = "inner span after its outer"

# llm_call_spans' columns, in the order `folded_rows` makes them.
FOLDED_COLUMNS: Final = (
    "Timestamp",
    "TraceId",
    "SpanId",
    "ParentSpanId",
    "SpanName",
    "Tenant",
    "ServiceName",
    "Provider",
    "Model",
    "CallKey",
    "KeptTraceId",
    "KeptSpanId",
    "Reason",
    "InputTokens",
    "OutputTokens",
    "CacheReadInputTokens",
    "TotalCost",
    "CostSource",
)
# What an upgrade takes from the better span of a stored row's call (`upgrade_rows`): the row it upgrades, the
# span taken, then the record, as `llm_calls` columns (costs in integers of 10^-12 USD, as `CallColumns`).
RECORD_COLUMNS: Final = (
    "UsageComplete",
    "InputTokens",
    "OutputTokens",
    "CacheReadInputTokens",
    "CacheCreationInputTokens",
    "ReasoningOutputTokens",
    "InputCost",
    "CacheReadCost",
    "CacheWriteCost",
    "OutputCost",
    "OtherCost",
    "TotalCost",
    "CacheSavings",
    "CostSource",
    "PriceId",
    "PricedModel",
)
UPGRADE_COLUMNS: Final = ("KeptTraceId", "KeptSpanId", "TraceId", "SpanId", *RECORD_COLUMNS)
_RECORD_FIELDS: Final = (
    "usage_complete",
    "input_tokens",
    "output_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
    "reasoning_output_tokens",
    "input_cost",
    "cache_read_cost",
    "cache_write_cost",
    "output_cost",
    "other_cost",
    "total_cost",
    "cache_savings",
    "cost_source",
    "price_id",
    "priced_model",
)
_INDEX = {name: FIELD_NAMES.index(name) for name in FIELD_NAMES}

Rank = tuple[bool, bool, int, bool, bool, bool]
Kept = tuple[str, str]  # trace id, span id of the row that holds a call
# A stored call to remember: trace id, span id, parent span id, call key[, the rank of the record the row holds].
StoredCall = tuple[str, str, str, str] | tuple[str, str, str, str, Rank]


def rank_of(
    complete: Any, inputs: int, outputs: int, source: str, reads: int, writes: int, other: Any, priced: str
) -> Rank:
    """How good a record of its call one row is, compared as tuples: usage complete, tokens reported, the cost
    source (provider, instrumentation, collector, unpriced), cache tokens reported, the cost broken down by kind
    (no `other_cost`), the price it was computed with named (`priced_model`: llmledger's spans name it)."""
    return (
        bool(complete),
        bool(inputs or outputs),
        _SOURCE_RANK.get(source, 0),
        bool(reads or writes),
        not other,
        bool(priced),
    )


def record_rank(record: Mapping[str, Any]) -> Rank:
    """`rank_of` a record by `llm_calls` column names (`RECORD_COLUMNS`): a stored row, or an upgrade's."""
    return rank_of(
        record["UsageComplete"],
        record["InputTokens"],
        record["OutputTokens"],
        record["CostSource"],
        record["CacheReadInputTokens"],
        record["CacheCreationInputTokens"],
        record["OtherCost"],
        record["PricedModel"],
    )


def rank(columns: CallColumns) -> list[Rank]:
    """`rank_of` each row of `columns` (written out: every stored row is ranked, and a call per row costs more)."""
    column = columns.columns
    source_rank = _SOURCE_RANK.get
    return [
        (bool(complete), bool(i or o), source_rank(source, 0), bool(r or w), not other, bool(priced))
        for complete, i, o, source, r, w, other, priced in zip(
            column[_INDEX["usage_complete"]],
            column[_INDEX["input_tokens"]],
            column[_INDEX["output_tokens"]],
            column[_INDEX["cost_source"]],
            column[_INDEX["cache_read_input_tokens"]],
            column[_INDEX["cache_creation_input_tokens"]],
            column[_INDEX["other_cost"]],
            column[_INDEX["priced_model"]],
            strict=True,
        )
    ]


@dataclass(slots=True)
class CallIdentities:
    """What the merger needs of a request's rows, by row: span key (trace id + span id, as `CallColumns.keys`),
    parent key (trace id + parent span id; '' without a parent), call key (response id or ''), trace and span id,
    and `rank`: given, or worked out from `columns` (rows `rows`) when first asked for, since only a request with
    two spans of one call needs it."""

    span_keys: list[str]
    parent_keys: list[str]
    call_keys: list[str]
    trace_ids: list[str]
    span_ids: list[str]
    given_ranks: list[Rank] | None = None
    columns: CallColumns | None = field(default=None, repr=False, compare=False)
    rows: Sequence[int] | None = None

    @classmethod
    def of(cls, columns: CallColumns, *, ranked: bool = False) -> CallIdentities:
        """The identities of `columns`' rows; `ranked` works their ranks out now (to send them elsewhere)."""
        if not len(columns):
            return cls([], [], [], [], [], [])
        column = columns.columns
        traces = list(column[_INDEX["trace_id"]])
        spans = list(column[_INDEX["span_id"]])
        parents = [
            trace + parent if parent else ""
            for trace, parent in zip(traces, column[_INDEX["parent_span_id"]], strict=True)
        ]
        return cls(
            list(map(str.__add__, traces, spans)),
            parents,
            list(column[_INDEX["call_key"]]),
            traces,
            spans,
            rank(columns) if ranked else None,
            None if ranked else columns,
        )

    @property
    def ranks(self) -> list[Rank]:
        if self.given_ranks is None:
            if self.columns is None:
                self.given_ranks = [_NO_RANK] * len(self)
            else:
                ranks = rank(self.columns)
                self.given_ranks = ranks if self.rows is None else [ranks[row] for row in self.rows]
        return self.given_ranks

    def take(self, indexes: Sequence[int]) -> CallIdentities:
        """The identities of the rows at `indexes`."""

        def pick(values: list[str]) -> list[str]:
            return [values[index] for index in indexes]

        taken = CallIdentities(
            pick(self.span_keys),
            pick(self.parent_keys),
            pick(self.call_keys),
            pick(self.trace_ids),
            pick(self.span_ids),
        )
        if self.given_ranks is not None:
            taken.given_ranks = [self.given_ranks[index] for index in indexes]
        else:
            taken.columns = self.columns
            taken.rows = indexes if self.rows is None else [self.rows[index] for index in indexes]
        return taken

    def __len__(self) -> int:
        return len(self.span_keys)


@dataclass(slots=True)
class Folding:
    """What `CallMerger.fold` decided for a request's rows: the positions kept, and of each position folded the
    row that holds its call and why. `added` is what the memory took, for `CallMerger.undo`."""

    kept: Sequence[int]
    folded: list[tuple[int, Kept, str]] = field(default_factory=list)
    resent: list[int] = field(default_factory=list)  # rows already stored (re-sent): neither kept nor folded
    # Folded positions whose record ranks better than the stored row holding their call: the row takes it.
    upgrades: list[tuple[int, Kept]] = field(default_factory=list)
    added: list[tuple[OrderedDict[str, Any], list[str]]] = field(default_factory=list)
    replaced: list[tuple[OrderedDict[str, Any], str, Any]] = field(default_factory=list)  # old values, for `undo`


class CallMerger:
    """The memory of the last `capacity` stored calls, and the rule that folds a request's rows into them.

    Not thread-safe: the pipeline calls it under its lock, as it does the duplicate filter."""

    CAPACITY = 200_000

    def __init__(self, capacity: int = CAPACITY) -> None:
        self._capacity = capacity
        self._by_call: OrderedDict[str, Kept] = OrderedDict()  # response id → the row holding it
        # span key → trace, span, response id, and the rank of the record the row holds
        self._calls: OrderedDict[str, tuple[str, str, str, Rank]] = OrderedDict()
        self._children: OrderedDict[str, str] = OrderedDict()  # parent key → span key of a stored row under it

    def fold(self, ids: CallIdentities) -> Folding:
        """Decide, for a request's new rows, which are kept and which fold into which row; remember the kept."""
        count = len(ids)
        keyed = [key for key in ids.call_keys if key]
        parents = [parent for parent in ids.parent_keys if parent]
        if (
            len(set(keyed)) == len(keyed)
            and self._by_call.keys().isdisjoint(keyed)
            and self._calls.keys().isdisjoint(parents)
            and self._children.keys().isdisjoint(ids.span_keys)
            and self._calls.keys().isdisjoint(ids.span_keys)
            and set(ids.span_keys).isdisjoint(parents)
        ):  # the common request: every call reported once
            folding = Folding(range(count))
            self._remember_all(folding, ids)
            return folding
        return self._fold(ids)

    def _fold(self, ids: CallIdentities) -> Folding:
        count = len(ids)
        keys, parents, spans = ids.call_keys, ids.parent_keys, ids.span_keys
        into: dict[int, int | Kept] = {}  # position → the position, or stored row, holding its call
        why: dict[int, str] = {}
        position_of = {span: position for position, span in enumerate(spans)}
        # A stored row sent again after the duplicate filter forgot it: nothing to keep, nothing folded.
        resent = [position for position in range(count) if spans[position] in self._calls]
        for position in resent:
            into[position] = self._calls[spans[position]][:2]
        # Nesting within the request: an outer LLM span folds into its first inner one (one of them without an id:
        # with the same id on both, the rank chooses below).
        for position in range(count):
            outer = position_of.get(parents[position]) if parents[position] else None
            if outer is not None and outer not in into and not (keys[outer] and keys[position]):
                into[outer], why[outer] = position, OUTER_SPAN
        # Nesting with stored rows: an outer span of a stored row, or an inner one stored after its outer.
        for position in range(count):
            if position in into:
                continue
            child = self._children.get(spans[position])
            if child is not None and child in self._calls:
                trace, span, key, _ = self._calls[child]
                if _same_call(keys[position], key):
                    into[position], why[position] = (trace, span), OUTER_SPAN
                    continue
            outer_row = self._calls.get(parents[position]) if parents[position] else None
            if outer_row is not None and _same_call(keys[position], outer_row[2]):
                into[position], why[position] = outer_row[:2], LATE_INNER_SPAN
        # The response id of each row still standing: its own, or that of a span folded into it.
        roots = {position: _root(position, into) for position in range(count)}
        key_of: dict[int, str] = {}
        for position in range(count):
            root = roots[position]
            if keys[position] and isinstance(root, int):
                key_of.setdefault(root, keys[position])
        groups: dict[str, list[int]] = {}
        for position, key in key_of.items():
            groups.setdefault(key, []).append(position)
        for key, members in groups.items():
            holder: int | Kept | None = self._by_call.get(key)
            if holder is None:
                holder = max(members, key=lambda member: (ids.ranks[member], -member))
            for member in members:
                if member != holder:
                    into[member], why[member] = holder, SAME_RESPONSE
        kept = [position for position in range(count) if position not in into]
        folding = Folding(kept, resent=resent)
        for position in sorted(into.keys() - set(resent)):
            root = _root(position, into)
            holder = (ids.trace_ids[root], ids.span_ids[root]) if isinstance(root, int) else root
            folding.folded.append((position, holder, why[position]))
        self._upgrade(folding, ids, into)
        self._remember(folding, ids, kept, key_of)
        return folding

    def _upgrade(self, folding: Folding, ids: CallIdentities, into: dict[int, int | Kept]) -> None:
        """Of the positions folded straight into a stored row (not into an inner span of this request, which keeps
        its call as the innermost), the best of each row, where it ranks better than the record the row holds."""
        best: dict[Kept, int] = {}
        for position, holder, _ in folding.folded:
            if isinstance(into[position], tuple):
                other = best.get(holder)
                if other is None or ids.ranks[position] > ids.ranks[other]:
                    best[holder] = position
        for holder, position in best.items():
            key = holder[0] + holder[1]
            stored = self._calls.get(key)
            if stored is not None and ids.ranks[position] <= stored[3]:
                continue
            folding.upgrades.append((position, holder))
            if stored is not None:  # the row now holds this record: a later span must beat it
                folding.replaced.append((self._calls, key, stored))
                self._calls[key] = (*stored[:3], ids.ranks[position])

    def _remember(self, folding: Folding, ids: CallIdentities, kept: Iterable[int], key_of: dict[int, str]) -> None:
        added = folding.added
        ranks = ids.ranks
        for position in kept:
            span, trace, span_id = ids.span_keys[position], ids.trace_ids[position], ids.span_ids[position]
            key = key_of.get(position) or ids.call_keys[position]
            self._add(self._calls, span, (trace, span_id, key, ranks[position]), added)
            parent = ids.parent_keys[position]
            if parent and parent not in self._children:
                self._add(self._children, parent, span, added)
            if key and key not in self._by_call:
                self._add(self._by_call, key, (trace, span_id), added)
        for position, holder, _ in folding.folded:
            key = ids.call_keys[position]
            if key and key not in self._by_call:
                self._add(self._by_call, key, holder, added)
        self._trim()

    def _remember_all(self, folding: Folding, ids: CallIdentities) -> None:
        """`_remember` of every row of a request none of whose spans, ids or parents the memory knows: whole
        dictionaries at a time, in C, not a row at a time."""
        calls = dict(
            zip(ids.span_keys, zip(ids.trace_ids, ids.span_ids, ids.call_keys, ids.ranks, strict=True), strict=True)
        )
        children_known = self._children
        children = {
            parent: span
            for parent, span in zip(ids.parent_keys, ids.span_keys, strict=True)
            if parent and parent not in children_known
        }
        by_call = {
            key: (trace, span)
            for key, trace, span in zip(ids.call_keys, ids.trace_ids, ids.span_ids, strict=True)
            if key
        }
        self._calls.update(calls)
        self._children.update(children)
        self._by_call.update(by_call)
        folding.added += [(self._calls, list(calls)), (self._children, list(children)), (self._by_call, list(by_call))]
        self._trim()

    def _trim(self) -> None:
        for memory in (self._calls, self._children, self._by_call):
            while len(memory) > self._capacity:
                memory.popitem(last=False)

    @staticmethod
    def _add(
        memory: OrderedDict[str, Any], key: str, value: Any, added: list[tuple[OrderedDict[str, Any], list[str]]]
    ) -> None:
        if key not in memory:
            added.append((memory, [key]))
        memory[key] = value

    def undo(self, folding: Folding) -> None:
        """Forget what `fold` remembered: its request was not queued, and its retry must be folded the same way."""
        for memory, keys in folding.added:
            for key in keys:
                memory.pop(key, None)
        for memory, key, value in reversed(folding.replaced):
            if key in memory:
                memory[key] = value
        folding.added.clear()
        folding.replaced.clear()

    def remember(self, calls: Iterable[StoredCall]) -> None:
        """Remember stored calls, oldest first, as (trace id, span id, parent span id, call key[, the rank of the
        record the row holds]): seeding the memory after a restart. Without a rank, any later span of the call
        is offered as an upgrade, and the writer compares it with the row as stored."""
        ignored = Folding(())
        for trace, span, parent, key, *known in calls:
            self._remember(
                ignored,
                CallIdentities(
                    [trace + span],
                    [trace + parent if parent else ""],
                    [key],
                    [trace],
                    [span],
                    [known[0] if known else _NO_RANK],
                ),
                (0,),
                {},
            )

    def remember_columns(self, columns: CallColumns) -> None:
        """Remember the rows of `columns`, all stored (the calls still queued, after a restart)."""
        ids = CallIdentities.of(columns)
        self._remember(Folding(()), ids, range(len(ids)), {})  # row by row: rows may repeat what it knows


_NO_RANK: Rank = (False, False, 0, False, False, False)


def _same_call(key: str, other: str) -> bool:
    """Whether two nested spans may report one call: unless both carry response ids and they differ."""
    return not key or not other or key == other


def _root(position: int, into: dict[int, int | Kept]) -> int | Kept:
    """The position (or stored row) that holds `position`'s call, following folds (each points to a different
    span, and the chains end: an outer span folds into an inner one, a response id's rows into one of them)."""
    seen = {position}
    holder: int | Kept = position
    while isinstance(holder, int) and holder in into:
        holder = into[holder]
        if isinstance(holder, int):
            if holder in seen:  # never expected: a cycle is cut where it closes
                break
            seen.add(holder)
    return holder


def folded_rows(columns: CallColumns, folding: Folding, positions: Sequence[int]) -> list[tuple[Any, ...]]:
    """`llm_call_spans` rows (`FOLDED_COLUMNS`) of the rows `folding` folded; `positions` maps a position of the
    folding to its row in `columns`."""
    column = columns.columns
    rows = []
    for position, (kept_trace, kept_span), reason in folding.folded:
        row = positions[position]

        def value(name: str, row: int = row) -> Any:
            return column[_INDEX[name]][row]

        model = value("priced_model") or value("response_model") or value("request_model")
        rows.append(
            (
                value("timestamp_ns"),
                value("trace_id"),
                value("span_id"),
                value("parent_span_id"),
                value("span_name"),
                value("tenant"),
                value("service_name"),
                value("provider"),
                model,
                value("call_key"),
                kept_trace,
                kept_span,
                reason,
                value("input_tokens"),
                value("output_tokens"),
                value("cache_read_input_tokens"),
                value("total_cost"),
                value("cost_source"),
            )
        )
    return rows


def upgrade_rows(columns: CallColumns, folding: Folding, positions: Sequence[int]) -> list[tuple[Any, ...]]:
    """The upgrades `folding` decided (`UPGRADE_COLUMNS`): the stored row, the span taken and its record;
    `positions` maps a position of the folding to its row in `columns`."""
    column = columns.columns
    records = [column[_INDEX[name]] for name in _RECORD_FIELDS]
    trace_ids, span_ids = column[_INDEX["trace_id"]], column[_INDEX["span_id"]]
    rows = []
    for position, (kept_trace, kept_span) in folding.upgrades:
        row = positions[position]
        rows.append((kept_trace, kept_span, trace_ids[row], span_ids[row], *(values[row] for values in records)))
    return rows


def total_cost(row: Sequence[Any]) -> Decimal:
    """A folded row's total cost in USD (it is kept as integers of 10^-12 USD, as `CallColumns` keeps costs)."""
    return Decimal(row[FOLDED_COLUMNS.index("TotalCost")]).scaleb(-COST_SCALE)
