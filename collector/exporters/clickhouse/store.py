# SPDX-License-Identifier: Apache-2.0
"""Where batches go: the storage engineer's writer, behind the two calls the pipeline needs.

A `Store` takes a batch with a deduplication token derived from the batch's span ids, so a batch retried after
a lost acknowledgement is stored once (ClickHouse drops the repeat, rollups included).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from clickhouse_connect.driver.client import Client

from llmledger._core.prices import ModelPrice

from ...extract.raw_span_rows import COLUMNS
from ...pipeline.records import CallColumns


class Store(Protocol):
    def write_calls(self, calls: CallColumns, prices: Iterable[ModelPrice], token: str) -> None: ...

    def write_raw_spans(self, rows: Sequence[Sequence[Any]], token: str) -> None: ...


class ClickHouseStore:
    """Writes with clickhouse-connect into `database` (the client's default database when None)."""

    def __init__(self, client: Client, database: str | None = None) -> None:
        self.client = client
        self.database = database
        # clickhouse-connect imports pandas and numpy (when installed) on its first insert, for ~1 s holding the
        # GIL, which stalled the receivers in the middle of the first batch; pay it here, at start.
        from clickhouse_connect.driver import options

        _ = (options.pd, options.np)  # lazy module attributes: reading them imports

    def write_calls(self, calls: CallColumns, prices: Iterable[ModelPrice], token: str) -> None:
        from .writer import insert_llm_calls

        insert_llm_calls(self.client, calls, database=self.database, deduplication_token=token, prices=prices)

    def write_raw_spans(self, rows: Sequence[Sequence[Any]], token: str) -> None:
        from .writer import insert_raw_spans

        insert_raw_spans(self.client, COLUMNS, rows, database=self.database, deduplication_token=token)

    def recent_call_keys(self, limit: int) -> list[str]:
        """Trace id + span id of the latest `limit` calls that started in the last day, oldest first: what a
        restarted collector must still recognise when an exporter re-sends a span it stored before."""
        from .client import translate_errors
        from .migrations import quote_identifier

        table = f"{quote_identifier(self.database)}.llm_calls" if self.database else "llm_calls"
        query = (
            f"SELECT concat(TraceId, SpanId) AS key, Timestamp FROM {table}"
            " WHERE Timestamp >= now() - INTERVAL 1 DAY ORDER BY Timestamp DESC LIMIT {limit:UInt32}"
        )
        with translate_errors():
            rows = self.client.query(query, {"limit": limit}).result_rows
        return [row[0] for row in reversed(rows)]
