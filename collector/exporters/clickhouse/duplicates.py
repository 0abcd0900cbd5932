# SPDX-License-Identifier: Apache-2.0
"""A call delivered to several collectors, counted once in every rollup: each collector takes back its own extra
deliveries (migration 0021).

Every row a collector inserts into `llm_calls` is also kept in `llm_call_deliveries` under the insert's
deduplication token, which names the collector (`collector_prefix`). A while after its inserts (`settle`), a
collector sweeps the deliveries it made since its last sweep, and records how far it swept (`llm_delivery_sweeps`):
a delivery is *decided* once its collector's sweep has passed it. Of each call its deliveries carry, it copies its
own delivery X into `llm_call_retractions` (whose views subtract from every rollup what X added) when another
delivery Y of the call, not taken back, either

1. came first: a lower (Version, Delivery), whoever's it is; or
2. is decided: its collector kept it, for good, when X could not be seen yet (an insert slower than `settle`).

So exactly one delivery of a call stays, whatever order the collectors' inserts and sweeps come in: a delivery is
decided once, by its own collector, and only it takes that delivery back; one sweep runs at a time (the consumer's
thread) and leaves out the deliveries already taken back, so a sweep retried after a failure takes none back twice.
Both stay only if two sweeps coincide to the millisecond with an insert slower than `settle` (X's collector reads
Y before Y's collector has recorded its sweep, while Y's sweep ran before X could be seen).
"""

from __future__ import annotations

from typing import Any

from clickhouse_connect.driver.client import Client

from .client import translate_errors
from .merged_calls import COST_COLUMNS, JOURNAL_IDENTITY, TOKEN_COLUMNS
from .migrations import quote_identifier

DELIVERIES = "llm_call_deliveries"
RETRACTIONS = "llm_call_retractions"
SWEEPS = "llm_delivery_sweeps"
SETTLE_SECONDS = 60.0
# The collector's part of a Delivery (`collector_prefix`): what precedes `<start>-<end>-<table>-<n>`.
_OWNER = "^(.*-)[0-9]+-[0-9]+-[a-z]+-[0-9]+$"
# What a retraction copies of its delivery: every column of llm_call_deliveries.
_COLUMNS = (
    "Timestamp",
    *JOURNAL_IDENTITY,
    "Version",
    "Delivery",
    "IngestedAt",
    "SessionId",
    "StatusCode",
    "ErrorType",
    "UsageComplete",
    "CostSource",
    *TOKEN_COLUMNS,
    *COST_COLUMNS,
    "Attributes",
)


def collector_prefix(queue_id: str) -> str:
    """The start of every deduplication token (and so of every Delivery) of the collector of queue `queue_id`."""
    return f"llmledger-{queue_id}-"


def sweep(client: Client, collector: str, *, settle: float = SETTLE_SECONDS, database: str | None = None) -> int:
    """Retract the deliveries of `collector` (a Delivery prefix) made since its last sweep and at least `settle`
    seconds ago whose call another delivery counts (the two rules above); how many were retracted."""
    db = f"{quote_identifier(database)}." if database else ""
    with translate_errors():
        # The window in the server's time, as milliseconds since the epoch (no time zone on the way).
        ((since, until),) = client.query(
            f"SELECT toUnixTimestamp64Milli((SELECT max(SweptUntil) FROM {db}{SWEEPS} "
            "WHERE Collector = {collector:String})), "
            "toUnixTimestamp64Milli(now64(3)) - {settle:UInt64}",
            parameters={"collector": collector, "settle": int(settle * 1000)},
        ).result_rows
        parameters: dict[str, Any] = {"collector": collector, "since": int(since), "until": int(until), "owner": _OWNER}
        window = (
            "startsWith(Delivery, {collector:String}) AND IngestedAt > fromUnixTimestamp64Milli({since:Int64}) "
            "AND IngestedAt <= fromUnixTimestamp64Milli({until:Int64})"
        )
        ours = f"SELECT Timestamp, TraceId, SpanId FROM {db}{DELIVERIES} WHERE {window}"  # the calls swept
        columns = ", ".join(_COLUMNS)
        client.command(
            f"""
            INSERT INTO {db}{RETRACTIONS} ({columns})
            WITH (
                SELECT (groupArray(Collector), groupArray(Until))
                FROM (SELECT Collector, max(SweptUntil) AS Until FROM {db}{SWEEPS} GROUP BY Collector)
            ) AS swept
            SELECT {columns}
            FROM
            (
                SELECT
                    {columns},
                    Retracted,
                    minIf((Version, Delivery), NOT Retracted) OVER twins AS FirstKept,
                    countIf(Decided AND NOT Retracted) OVER twins AS DecidedKept
                FROM
                (
                    SELECT
                        {columns},
                        (TraceId, SpanId, Version, Delivery) IN (
                            SELECT TraceId, SpanId, Version, Delivery FROM {db}{RETRACTIONS}
                            WHERE (Timestamp, TraceId, SpanId) IN ({ours})
                        ) AS Retracted,
                        IngestedAt <= mapFromArrays(swept.1, swept.2)[extract(Delivery, {{owner:String}})]
                            AS Decided
                    FROM {db}{DELIVERIES}
                    WHERE (Timestamp, TraceId, SpanId) IN ({ours})
                )
                WINDOW twins AS (PARTITION BY TraceId, SpanId)
            )
            WHERE {window} AND NOT Retracted AND ((Version, Delivery) > FirstKept OR DecidedKept > 0)
            """,
            parameters=parameters,
            # No deduplication, by token or by the blocks' contents: each sweep leaves out what was retracted
            # already, which makes a retried sweep safe; and through a Distributed table, the parts of one INSERT …
            # SELECT each shard received under one token were taken for repeats of each other and dropped, and
            # blocks of two retractions that move a rollup group alike would be too.
            settings={"insert_deduplicate": 0, "parallel_distributed_insert_select": 0},
        )
        ((retracted,),) = client.query(
            f"SELECT count() FROM {db}{RETRACTIONS} WHERE {window}", parameters=parameters
        ).result_rows
        client.command(
            f"INSERT INTO {db}{SWEEPS} (Collector, SweptUntil) "
            "SELECT {collector:String}, fromUnixTimestamp64Milli({until:Int64})",
            parameters=parameters,
        )
    return int(retracted)
