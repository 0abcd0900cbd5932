# SPDX-License-Identifier: Apache-2.0
"""Where a row is written: call rows into `llm_calls`, the prices they used, and raw span rows into `otel_traces`.

Inserts are columnar, name their columns (so extra columns in the table never break an older writer), and take
an optional `deduplication_token`: the same batch retried with the same token is dropped by ClickHouse, in
`llm_calls` and in every rollup fed from it (the tables carry a deduplication window, and the insert asks for
`deduplicate_blocks_in_dependent_materialized_views`). Use one token per batch, derived from what the batch
is (e.g. the queue segment and offset), never from the time of the attempt. Tables are in the client's
default database unless `database` names another.

`Store` is what the queue's ClickHouse consumer (`consumer`) writes through; `ClickHouseStore` is it over a
clickhouse-connect client (with the spans folded into another row's call, and the stored rows that take a later
span's better record: `merged_calls`), and also reads back the latest stored calls for a restarted duplicate
filter and call merger.
"""

from __future__ import annotations

import contextlib
import json
import struct
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import fields
from decimal import Decimal
from typing import Any, Protocol

from clickhouse_connect.driver.client import Client

from llmledger._core.prices import ModelPrice, Rate, Tiered

from ...extract.raw_span_rows import COLUMNS as RAW_SPAN_COLUMNS
from ...llm_calls import COST_FIELDS, CallColumns, LlmCall
from ...pipeline.call_merger import StoredCall, rank_of
from . import native_format
from .client import translate_errors
from .duplicates import sweep
from .errors import QueryFailed
from .merged_calls import finish_pending, upgrade_calls
from .migrations import quote_identifier

LLM_CALLS = "llm_calls"
CALL_SPANS = "llm_call_spans"
MODEL_PRICES = "llm_model_prices"
OTEL_TRACES = "otel_traces"

_FIELD_TO_COLUMN = {"timestamp_ns": "Timestamp"}


def _column_name(field_name: str) -> str:
    return _FIELD_TO_COLUMN.get(field_name) or "".join(part.capitalize() for part in field_name.split("_"))


# LlmCall field → llm_calls column, in field order: `time_to_first_chunk_ms` → `TimeToFirstChunkMs`.
LLM_CALL_COLUMNS: Mapping[str, str] = {f.name: _column_name(f.name) for f in fields(LlmCall)}
# The Native type each field is sent as: what migration 0001 declares, LowCardinality(String) as String (the
# server builds the dictionary, in C++), costs as Decimal(18, 12) from `CallColumns`' scaled integers.
_NATIVE_TYPES: Mapping[str, tuple[str, native_format.Encoder]] = {
    "int": ("UInt32", native_format.uint32),
    "float": ("Float64", native_format.float64),
    "bool": ("Bool", native_format.booleans),
    "str": ("String", native_format.strings),
    "CostSource": ("String", native_format.strings),
    "dict[str, str]": ("Map(String, String)", native_format.string_map),
}
_NATIVE = tuple(
    (
        LLM_CALL_COLUMNS[f.name],
        *(
            ("DateTime64(9)", native_format.int64)
            if f.name == "timestamp_ns"
            else ("Decimal(18, 12)", native_format.int64)
            if f.name in COST_FIELDS
            else _NATIVE_TYPES[str(f.type)]
        ),
    )
    for f in fields(LlmCall)
)


def insert_llm_calls(
    client: Client,
    calls: Sequence[LlmCall] | CallColumns,
    *,
    database: str | None = None,
    deduplication_token: str | None = None,
    prices: Iterable[ModelPrice] = (),
) -> int:
    """Insert `calls` (or their columns) into `llm_calls`, first recording `prices`, the prices they were costed
    with; rows sent.

    Costs are rounded half-even to the column's 12 decimal places; a cost of a million USD or more in one call
    cannot be stored and raises ValueError naming the span. The rows go as one Native block of our own making
    (`native_format`), uncompressed: on loopback, compressing costs both sides more CPU than the bytes it saves.
    """
    record_prices(client, prices, database=database)
    columns = calls if isinstance(calls, CallColumns) else CallColumns.of(calls)
    if not len(columns):
        return 0
    with _inserting(LLM_CALLS):
        data = native_format.block(
            [
                (name, type_name, encode, values)
                for (name, type_name, encode), values in zip(_NATIVE, columns.columns, strict=True)
            ]
        )
        client.raw_insert(
            _table(database, LLM_CALLS),
            list(LLM_CALL_COLUMNS.values()),
            # Streamed (chunked), as the driver's own inserts are: a body the driver never replays by itself, and
            # what proxies in front of ClickHouse already see from us.
            insert_block=(part for part in (data,)),
            settings={**_insert_settings(deduplication_token), **_NO_MERGE_ON_INSERT},
            fmt="Native",
        )
    return len(columns)


# llm_call_spans' columns (`pipeline.call_merger.FOLDED_COLUMNS`, in its order) as Native types.
_CALL_SPAN_TYPES: Mapping[str, tuple[str, native_format.Encoder]] = {
    "Timestamp": ("DateTime64(9)", native_format.int64),
    "InputTokens": ("UInt32", native_format.uint32),
    "OutputTokens": ("UInt32", native_format.uint32),
    "CacheReadInputTokens": ("UInt32", native_format.uint32),
    "TotalCost": ("Decimal(18, 12)", native_format.int64),
}
_STRING = ("String", native_format.strings)


def insert_call_spans(
    client: Client,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    database: str | None = None,
    deduplication_token: str | None = None,
) -> int:
    """Insert the spans folded into another row's call (`columns` names them, costs in integers of 10^-12 USD)
    into `llm_call_spans`; rows sent."""
    if not rows:
        return 0
    with _inserting(CALL_SPANS):
        data = native_format.block(
            [
                (name, *_CALL_SPAN_TYPES.get(name, _STRING), list(values))
                for name, values in zip(columns, zip(*rows, strict=True), strict=True)
            ]
        )
        client.raw_insert(
            _table(database, CALL_SPANS),
            list(columns),
            insert_block=(part for part in (data,)),
            settings=_insert_settings(deduplication_token),
            fmt="Native",
        )
    return len(rows)


def record_prices(client: Client, prices: Iterable[ModelPrice], *, database: str | None = None) -> int:
    """Record each distinct price (by id) in `llm_model_prices`; rows sent. Re-recording a price is harmless."""
    unique = {price.id: price for price in prices if price.id}
    if not unique:
        return 0
    rows = [_price_row(price) for price in unique.values()]
    with _inserting(MODEL_PRICES):
        client.insert(_table(database, MODEL_PRICES), rows, column_names=list(_PRICE_COLUMNS))
    return len(rows)


def insert_raw_spans(
    client: Client,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    database: str | None = None,
    deduplication_token: str | None = None,
) -> int:
    """Insert row tuples into `otel_traces`; `columns` names them (exporter names, e.g. `Events.Timestamp`)."""
    if not rows:
        return 0
    with _inserting(OTEL_TRACES):
        client.insert(
            _table(database, OTEL_TRACES),
            rows,
            column_names=list(columns),
            settings=_insert_settings(deduplication_token),
        )
    return len(rows)


@contextlib.contextmanager
def _inserting(table: str) -> Iterator[None]:
    """Driver errors as ours; a value the driver cannot even encode (a dict value that is not a string, a
    negative count) is a QueryFailed naming the table too, not a stray AttributeError from the driver."""
    with translate_errors():
        try:
            yield
        except (AttributeError, TypeError, OverflowError, struct.error, native_format.Unencodable) as error:
            raise QueryFailed(f"a row for {table} holds a value its column cannot take: {error}") from error


def _table(database: str | None, table: str) -> str:
    return f"{quote_identifier(database)}.{table}" if database else table


# No replacing/summing/aggregating merge of each inserted block: every rollup view already GROUPs BY its key, so
# its blocks have nothing left to collapse, and a re-sent span in one llm_calls block is kept from the batch by
# the collector's duplicate filter (and collapses under FINAL anyway). Skipping it saves ClickHouse a good part of
# its work per inserted row.
_NO_MERGE_ON_INSERT = {"optimize_on_insert": 0}


def _insert_settings(deduplication_token: str | None) -> dict[str, Any]:
    settings: dict[str, Any] = {"deduplicate_blocks_in_dependent_materialized_views": 1}
    if deduplication_token:
        settings["insert_deduplication_token"] = deduplication_token
    return settings


_PRICE_COLUMNS = (
    "PriceId",
    "Provider",
    "Model",
    "Source",
    "Version",
    "InputPerMTok",
    "OutputPerMTok",
    "CacheReadPerMTok",
    "CacheWritePerMTok",
    "CacheWrite1hPerMTok",
    "Tiers",
)


def _price_row(price: ModelPrice) -> list[Any]:
    rates = {
        "input": price.input,
        "output": price.output,
        "cache_read": price.cache_read,
        "cache_write": price.cache_write,
        "cache_write_1h": price.cache_write_1h,
    }
    tiers = {
        kind: [[start, str(rate)] for start, rate in value.tiers]
        for kind, value in rates.items()
        if isinstance(value, Tiered)
    }
    base = {kind: _base(value) for kind, value in rates.items()}
    return [
        price.id,
        price.provider,
        price.pattern or price.model,  # an override's row names its entry's pattern, not the first model it priced
        price.source,
        price.version,
        base["input"] or Decimal(0),
        base["output"] or Decimal(0),
        base["cache_read"],
        base["cache_write"],
        base["cache_write_1h"],
        json.dumps(tiers, sort_keys=True) if tiers else "",
    ]


def _base(rate: Rate | None) -> Decimal | None:
    if rate is None:
        return None
    base: Decimal = rate.base if isinstance(rate, Tiered) else rate
    return base


class Store(Protocol):
    def write_calls(self, calls: CallColumns, prices: Iterable[ModelPrice], token: str) -> None: ...

    def write_raw_spans(self, rows: Sequence[Sequence[Any]], token: str) -> None: ...


class ClickHouseStore:
    """`Store` with clickhouse-connect, into `database` (the client's default database when None)."""

    def __init__(self, client: Client, database: str | None = None) -> None:
        self.client = client
        self.database = database
        # clickhouse-connect imports pandas and numpy (when installed) on its first insert, a long import holding
        # the GIL, which stalled the receivers in the middle of the first batch; pay it here, at start.
        from clickhouse_connect.driver import options

        _ = (options.pd, options.np)  # lazy module attributes: reading them imports

    def write_calls(self, calls: CallColumns, prices: Iterable[ModelPrice], token: str) -> None:
        insert_llm_calls(self.client, calls, database=self.database, deduplication_token=token, prices=prices)

    def write_raw_spans(self, rows: Sequence[Sequence[Any]], token: str) -> None:
        insert_raw_spans(self.client, RAW_SPAN_COLUMNS, rows, database=self.database, deduplication_token=token)

    def write_call_spans(self, columns: Sequence[str], rows: Sequence[Sequence[Any]], token: str) -> None:
        insert_call_spans(self.client, columns, rows, database=self.database, deduplication_token=token)

    def write_upgrades(self, rows: Sequence[Sequence[Any]], prices: Iterable[ModelPrice], token: str) -> None:
        """Give stored rows the better record of a later span of their call (`merged_calls.upgrade_calls`)."""
        upgrade_calls(self.client, rows, database=self.database, deduplication_token=token, prices=prices)

    def finish_upgrades(self) -> int:
        """Write the versions of upgrades journaled but never written (`merged_calls.finish_pending`)."""
        return finish_pending(self.client, database=self.database)

    def retract_duplicates(self, collector: str, settle: float) -> int:
        """Take back this collector's deliveries of calls another delivery reached first (`duplicates.sweep`)."""
        return sweep(self.client, collector, settle=settle, database=self.database)

    def recent_calls(self, limit: int) -> list[StoredCall]:
        """(trace id, span id, parent span id, call key, rank of the record the row holds) of the latest `limit`
        calls that started in the last day, oldest first, each at its latest version: what a restarted collector
        must know to fold a later span of a call stored before, and to tell whether it is a better record."""
        query = (
            "SELECT TraceId, SpanId, ParentSpanId, CallKey, UsageComplete, InputTokens, OutputTokens, CostSource,"
            " CacheReadInputTokens, CacheCreationInputTokens, OtherCost != 0, PricedModel"
            f" FROM {_table(self.database, LLM_CALLS)}"
            " WHERE Timestamp >= now() - INTERVAL 1 DAY ORDER BY Timestamp DESC, Version DESC"
            " LIMIT 1 BY TraceId, SpanId LIMIT {limit:UInt32}"
        )
        with translate_errors():
            rows = self.client.query(query, {"limit": limit}).result_rows
        return [(trace, span, parent, key, rank_of(*record)) for trace, span, parent, key, *record in reversed(rows)]

    def recent_call_keys(self, limit: int) -> list[str]:
        """Trace id + span id of the latest `limit` calls that started in the last day, oldest first: what a
        restarted collector must still recognise when an exporter re-sends a span it stored before."""
        query = (
            f"SELECT concat(TraceId, SpanId) AS key, Timestamp FROM {_table(self.database, LLM_CALLS)}"
            " WHERE Timestamp >= now() - INTERVAL 1 DAY ORDER BY Timestamp DESC LIMIT {limit:UInt32}"
        )
        with translate_errors():
            rows = self.client.query(query, {"limit": limit}).result_rows
        return [row[0] for row in reversed(rows)]
