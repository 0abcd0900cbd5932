# SPDX-License-Identifier: Apache-2.0
"""Writing to ClickHouse: batches of `LlmCall` into `llm_calls`, the prices they used, and raw span rows.

Inserts are columnar, name their columns (so extra columns in the table never break an older writer), and take
an optional `deduplication_token`: the same batch retried with the same token is dropped by ClickHouse, in
`llm_calls` and in every rollup fed from it (the tables carry a deduplication window, and the insert asks for
`deduplicate_blocks_in_dependent_materialized_views`). Use one token per batch, derived from what the batch
is (e.g. the queue segment and offset), never from the time of the attempt. Tables are in the client's
default database unless `database` names another.
"""

from __future__ import annotations

import contextlib
import json
import operator
import struct
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import fields
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from clickhouse_connect.datatypes.base import ClickHouseType
from clickhouse_connect.datatypes.numeric import Decimal as ChDecimal
from clickhouse_connect.datatypes.registry import get_from_name
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.common import write_array
from clickhouse_connect.driver.insert import InsertContext

from llmledger.collector.calls import _ZERO, LlmCall
from llmledger.instrumentation._shared.prices import ModelPrice, Rate, Tiered

from .client import translate_errors
from .errors import QueryFailed
from .migrations import quote_identifier

LLM_CALLS = "llm_calls"
MODEL_PRICES = "llm_model_prices"
OTEL_TRACES = "otel_traces"

_COST_QUANTUM = Decimal("1e-12")  # Decimal(18, 12)
_COST_LIMIT = Decimal(1_000_000)
_FIELD_TO_COLUMN = {"timestamp_ns": "Timestamp"}


def _column_name(field_name: str) -> str:
    return _FIELD_TO_COLUMN.get(field_name) or "".join(part.capitalize() for part in field_name.split("_"))


# LlmCall field → llm_calls column, in field order: `time_to_first_chunk_ms` → `TimeToFirstChunkMs`.
LLM_CALL_COLUMNS: Mapping[str, str] = {f.name: _column_name(f.name) for f in fields(LlmCall)}
_FIELD_NAMES = tuple(LLM_CALL_COLUMNS)
_FIELD_VALUES = operator.attrgetter(*_FIELD_NAMES)  # one call → a tuple of its fields, in column order
_DECIMAL_INDEXES = tuple(index for index, f in enumerate(fields(LlmCall)) if f.type in ("Decimal", Decimal))
_DECIMAL_18_12 = "Decimal(18, 12)"
_SCALED_LIMIT = 10**18  # _COST_LIMIT · 10^12
_STRING = get_from_name("String")


def insert_llm_calls(
    client: Client,
    calls: Sequence[LlmCall],
    *,
    database: str | None = None,
    deduplication_token: str | None = None,
    prices: Iterable[ModelPrice] = (),
) -> int:
    """Insert `calls` into `llm_calls` (first recording `prices`, the prices they were costed with); rows sent.

    Costs are rounded half-even to the column's 12 decimal places; a cost of a million USD or more in one call
    cannot be stored and raises ValueError naming the span.
    """
    record_prices(client, prices, database=database)
    if not calls:
        return 0
    table = _table(database, LLM_CALLS)
    column_names = list(LLM_CALL_COLUMNS.values())
    with _inserting(LLM_CALLS):
        types = client.create_insert_context(table, column_names).column_types
    scaled = all(types[index].name == _DECIMAL_18_12 for index in _DECIMAL_INDEXES)
    columns: list[Sequence[Any]] = list(zip(*map(_FIELD_VALUES, calls), strict=True))
    for index in _DECIMAL_INDEXES:
        name = _FIELD_NAMES[index]
        columns[index] = _scaled_costs(columns[index], name, calls) if scaled else _costs(columns[index], name, calls)
    with _inserting(LLM_CALLS):
        client.insert(
            table,
            columns,
            column_names=column_names,
            column_types=[_fast_type(column_type, scaled) for column_type in types],
            column_oriented=True,
            settings=_insert_settings(deduplication_token),
        )
    return len(calls)


class _ScaledDecimal64(ChDecimal, registered=False):
    """Decimal(18, S) written from integers already scaled by 10^S (the driver's own path costs ~1 µs a value:
    str → Decimal → multiply → int). Its name stays `Decimal(18, S)`, so the server sees the column it expects."""

    def _write_column_binary(self, column: Sequence[Any], dest: bytearray, ctx: InsertContext) -> None:
        write_array(self._array_type, column, dest, ctx.column_name)


def _fast_type(column_type: ClickHouseType, scaled: bool) -> ClickHouseType:
    """The type to send a column as: LowCardinality(String) as String (the server builds the dictionary, in C++,
    instead of the driver in Python), Decimal(18, 12) from scaled integers when `scaled`, others as they are."""
    name = column_type.name
    if name == "LowCardinality(String)":
        return _STRING
    if scaled and name == _DECIMAL_18_12:
        assert isinstance(column_type, ChDecimal)
        return _ScaledDecimal64(column_type.type_def, column_type.prec, 64, column_type.scale)
    return column_type


def _scaled_costs(values: Sequence[Any], name: str, calls: Sequence[LlmCall]) -> list[int]:
    """`_costs(values)` as integers scaled by 10^12 (what Decimal(18, 12) stores); same rounding, same errors."""
    try:
        # round() of a Decimal is half-even to an int: the same as quantize(1e-12) then scaling, one step less.
        scaled = [0 if value is _ZERO else round(value.scaleb(12)) for value in values]
    except (AttributeError, ArithmeticError, ValueError):  # not a Decimal, or not finite: let _costs say which
        scaled = []
    if not scaled or min(scaled) <= -_SCALED_LIMIT or max(scaled) >= _SCALED_LIMIT:
        return [int(value.scaleb(12)) for value in _costs(values, name, calls)]
    return scaled


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
        except (AttributeError, TypeError, OverflowError, struct.error) as error:
            raise QueryFailed(f"a row for {table} holds a value its column cannot take: {error}") from error


def _table(database: str | None, table: str) -> str:
    return f"{quote_identifier(database)}.{table}" if database else table


def _insert_settings(deduplication_token: str | None) -> dict[str, Any]:
    settings: dict[str, Any] = {"deduplicate_blocks_in_dependent_materialized_views": 1}
    if deduplication_token:
        settings["insert_deduplication_token"] = deduplication_token
    return settings


def _costs(values: Sequence[Any], name: str, calls: Sequence[LlmCall]) -> list[Decimal]:
    """`values` rounded to Decimal(18, 12); ValueError naming the span of the first that cannot be stored."""
    try:
        rounded = [value.quantize(_COST_QUANTUM, rounding=ROUND_HALF_EVEN) for value in values]
    except (AttributeError, ArithmeticError):  # not a Decimal (a float from some extractor), or infinite
        rounded = [_decimal(value).quantize(_COST_QUANTUM, rounding=ROUND_HALF_EVEN) for value in values]
    for value, original, call in zip(rounded, values, calls, strict=True):
        if not value.is_finite() or abs(value) >= _COST_LIMIT:
            raise ValueError(f"{name}={original} of span {call.trace_id}/{call.span_id} does not fit Decimal(18, 12)")
    return rounded


def _decimal(value: Any) -> Decimal:
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    return number if number.is_finite() and abs(number) < _COST_LIMIT else Decimal("NaN")


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
        price.model,
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
