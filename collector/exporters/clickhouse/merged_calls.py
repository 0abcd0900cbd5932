# SPDX-License-Identifier: Apache-2.0
"""A stored call taking the better record of a later span of the same call, with the rollups moved exactly once.

The collector keeps one row per provider call (`pipeline.call_merger`). When a span of a call arrives after the
call's row was stored and ranks better (complete usage, a better cost source, cache tokens, …: `rank_of`), the
row takes that span's usage, costs and cost source. It cannot be a second row (the rollups count every row
inserted into `llm_calls`), so it goes as re-pricing goes (migrations 0009, 0010, 0015; `repricing.reprice`):

1. one insert into the journal `llm_call_repricings`, `RunId` = `merge:<trace id>:<span id>` of the span taken,
   the row's old and the span's new costs, cost source, tokens and usage completeness; its views move every rollup
   by new − old;
2. the new version of the row, copied in ClickHouse from the stored row with the journal's values
   (`INSERT … SELECT`), only where the stored version is still the journal's old one; `RepricedBy` = the RunId,
   so the rollups' own views skip it.

Exactly once, under the writer's batch token: each upgrade is weighed against the row as stored (`llm_calls
FINAL`), not against the merger's memory, so a span delivered again, after the row took it, ranks no better and
writes nothing; a batch re-read after a crash between the two steps finds the row at its old version, sends the
journal block again under the same token (ClickHouse drops it, in every rollup too) and writes the version from
what the journal holds. A version the writer could not write at all (ClickHouse refused it for good, and the batch
was dropped to keep the collector going) is written when the collector next starts (`finish_pending`), from the
journal rows of the last two days whose version is missing: the rollups already moved, the row catches up.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

from clickhouse_connect.driver.client import Client

from llmledger._core.prices import ModelPrice

from ...llm_calls import COST_SCALE
from ...pipeline.call_merger import RECORD_COLUMNS, UPGRADE_COLUMNS, record_rank
from . import native_format
from .client import translate_errors
from .migrations import quote_identifier

JOURNAL = "llm_call_repricings"
MERGE = "merge:"  # RunId and RepricedBy of a row's version that took a later span's record
# The stored call's tokens and costs (the columns a merge or a re-pricing changes, as Old… and New… in the journal).
TOKEN_COLUMNS = (
    "InputTokens",
    "OutputTokens",
    "CacheReadInputTokens",
    "CacheCreationInputTokens",
    "ReasoningOutputTokens",
)
COST_COLUMNS = ("InputCost", "CacheReadCost", "CacheWriteCost", "OutputCost", "OtherCost", "TotalCost", "CacheSavings")
# The stored call's identity and groups, as every journal row carries them (a merge's and a re-pricing's alike).
JOURNAL_IDENTITY = (
    "TraceId",
    "SpanId",
    "Tenant",
    "ServiceName",
    "Environment",
    "Feature",
    "UserId",
    "Provider",
    "Model",
    "Operation",
)
# What the journal carries of the stored call beyond its record, for the rollups by failure, session and custom
# attribute (migrations 0015, 0019, 0020): the call's own, unchanged by the merge.
_STORED = ("Timestamp", *JOURNAL_IDENTITY, "SessionId", "Attributes", "Version", "Failed", *RECORD_COLUMNS)
_FAILED = "StatusCode IN ('Error', 'STATUS_CODE_ERROR') OR ErrorType != ''"  # as the rollups count ErrorCalls


def merge_id(trace_id: str, span_id: str) -> str:
    """The RunId (and RepricedBy) naming the span whose record a row took."""
    return f"{MERGE}{trace_id}:{span_id}"


def upgrade_calls(
    client: Client,
    upgrades: Sequence[Sequence[Any]],
    *,
    database: str | None = None,
    deduplication_token: str | None = None,
    prices: Iterable[ModelPrice] = (),
) -> int:
    """Give each stored row named by `upgrades` (`UPGRADE_COLUMNS` rows) the record of the span it names where
    that ranks better than the row's record as stored (among several spans of one row, the best, the first of
    equals); the rows changed. `prices`: those the spans were costed with, recorded first."""
    changes = journal_upgrades(
        client, upgrades, database=database, deduplication_token=deduplication_token, prices=prices
    )
    apply_upgrades(client, [(row[0], row[1]) for row in upgrades], database=database)
    return changes


def journal_upgrades(
    client: Client,
    upgrades: Sequence[Sequence[Any]],
    *,
    database: str | None = None,
    deduplication_token: str | None = None,
    prices: Iterable[ModelPrice] = (),
) -> int:
    """Step 1 alone: the journal rows of the upgrades that rank better than the rows as stored; how many."""
    from .writer import record_prices  # the writer imports this module

    best = _best(upgrades)
    if not best:
        return 0
    stored = _stored(client, list(best), database)
    rows = []
    now = time.time_ns() // 1000
    for kept, upgrade in best.items():
        row = stored.get(kept)
        if row is None or record_rank(upgrade) <= record_rank(row):
            continue  # no such row (never stored, or past its TTL), or it holds as good a record already
        rows.append((row, upgrade, max(now, int(row["Version"]) + 1)))
    if not rows:
        return 0
    wanted = {upgrade["PriceId"] for _, upgrade, _ in rows}
    record_prices(client, [price for price in prices if price.id in wanted], database=database)
    _insert_journal(client, rows, database, deduplication_token)
    return len(rows)


def apply_upgrades(client: Client, kept: Sequence[tuple[str, str]], *, database: str | None = None) -> None:
    """Step 2: the new version of each row of `kept` that a merge journal row names at the row's stored version."""
    if not kept:
        return
    db = f"{quote_identifier(database)}." if database else ""
    with translate_errors():
        columns = [
            name
            for (name,) in client.query(
                "SELECT name FROM system.columns WHERE database = "
                + ("{db:String}" if database else "currentDatabase()")
                + " AND table = 'llm_calls' AND default_kind NOT IN ('MATERIALIZED', 'ALIAS') ORDER BY position",
                parameters={"db": database},
            ).result_rows
        ]
        replaced = {
            **{
                name: f"j.New{name}"
                for name in (*TOKEN_COLUMNS, *COST_COLUMNS, "CostSource", "PriceId", "UsageComplete")
            },
            "PricedModel": "j.NewPricedModel",
            "Version": "j.NewVersion",
            "RepricedBy": "j.RunId",
        }
        selected = ", ".join(replaced.get(name, f"c.`{name}`") for name in columns)
        client.command(
            f"""
            INSERT INTO {db}llm_calls ({", ".join(f"`{name}`" for name in columns)})
            SELECT {selected}
            FROM (SELECT * FROM {db}llm_calls FINAL WHERE (TraceId, SpanId) IN {{kept:Array(Tuple(String, String))}})
                AS c
            INNER JOIN
            (
                SELECT * FROM {db}{JOURNAL}
                WHERE (TraceId, SpanId) IN {{kept:Array(Tuple(String, String))}} AND startsWith(RunId, {{merge:String}})
            ) AS j ON c.TraceId = j.TraceId AND c.SpanId = j.SpanId AND c.Version = j.OldVersion
            """,
            parameters={"kept": sorted(set(kept)), "merge": MERGE},
        )


def finish_pending(client: Client, *, database: str | None = None, days: int = 2) -> int:
    """Write the new version of each row a merge journal row of the last `days` names whose version is missing;
    the rows named (some may have moved on since, and are left: their journal row no longer matches)."""
    db = f"{quote_identifier(database)}." if database else ""
    recent = "startsWith(RunId, {merge:String}) AND Timestamp >= now() - toIntervalDay({days:UInt32})"
    with translate_errors():
        pending = client.query(
            f"""
            SELECT j.TraceId, j.SpanId
            FROM (SELECT TraceId, SpanId, NewVersion FROM {db}{JOURNAL} WHERE {recent}) AS j
            LEFT JOIN
            (
                SELECT TraceId, SpanId, max(Version) AS Latest
                FROM {db}llm_calls
                WHERE (TraceId, SpanId) IN (SELECT TraceId, SpanId FROM {db}{JOURNAL} WHERE {recent})
                GROUP BY TraceId, SpanId
            ) AS c ON c.TraceId = j.TraceId AND c.SpanId = j.SpanId
            WHERE c.Latest < j.NewVersion
            """,
            parameters={"merge": MERGE, "days": days},
        ).result_rows
    kept = [(trace, span) for trace, span in pending]
    apply_upgrades(client, kept, database=database)
    return len(kept)


def _best(upgrades: Sequence[Sequence[Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """The best span offered for each stored row (the first of equals)."""
    best: dict[tuple[str, str], dict[str, Any]] = {}
    for values in upgrades:
        upgrade = dict(zip(UPGRADE_COLUMNS, values, strict=True))
        kept = (upgrade["KeptTraceId"], upgrade["KeptSpanId"])
        other = best.get(kept)
        if other is None or record_rank(upgrade) > record_rank(other):
            best[kept] = upgrade
    return best


def _stored(client: Client, kept: list[tuple[str, str]], database: str | None) -> dict[tuple[str, str], dict[str, Any]]:
    """The stored rows of `kept`, latest version, costs in integers of 10^-12 USD."""
    db = f"{quote_identifier(database)}." if database else ""
    expressions = {"Timestamp": "toUnixTimestamp64Nano(Timestamp)", "Failed": f"({_FAILED})"}
    selected = ", ".join(expressions.get(name, name) for name in _STORED)
    with translate_errors():
        result = client.query(
            f"SELECT {selected} FROM {db}llm_calls FINAL"
            " WHERE (TraceId, SpanId) IN {kept:Array(Tuple(String, String))}",
            parameters={"kept": kept},
        ).result_rows
    rows = {}
    for values in result:
        row = dict(zip(_STORED, values, strict=True))
        for name in COST_COLUMNS:
            row[name] = int(row[name].scaleb(COST_SCALE))
        rows[(row["TraceId"], row["SpanId"])] = row
    return rows


def _insert_journal(
    client: Client,
    rows: Sequence[tuple[dict[str, Any], dict[str, Any], int]],
    database: str | None,
    token: str | None,
) -> None:
    def old(name: str) -> list[Any]:
        return [row[name] for row, _, _ in rows]

    def new(name: str) -> list[Any]:
        return [upgrade[name] for _, upgrade, _ in rows]

    strings, uint64, int64 = native_format.strings, native_format.uint64, native_format.int64
    columns: list[tuple[str, str, native_format.Encoder, Sequence[Any]]] = [
        ("RunId", "String", strings, [merge_id(upgrade["TraceId"], upgrade["SpanId"]) for _, upgrade, _ in rows]),
        ("Timestamp", "DateTime64(9)", int64, old("Timestamp")),
        *((name, "String", strings, old(name)) for name in JOURNAL_IDENTITY),
        ("OldVersion", "UInt64", uint64, old("Version")),
        ("NewVersion", "UInt64", uint64, [version for _, _, version in rows]),
        ("OldCostSource", "String", strings, old("CostSource")),
        ("NewCostSource", "String", strings, new("CostSource")),
        ("OldPriceId", "String", strings, old("PriceId")),
        ("NewPriceId", "String", strings, new("PriceId")),
        ("NewPricedModel", "String", strings, new("PricedModel")),
        *((f"Old{name}", "Decimal(18, 12)", int64, old(name)) for name in COST_COLUMNS),
        *((f"New{name}", "Decimal(18, 12)", int64, new(name)) for name in COST_COLUMNS),
        ("OldUsageComplete", "Bool", native_format.booleans, [bool(value) for value in old("UsageComplete")]),
        ("NewUsageComplete", "Bool", native_format.booleans, [bool(value) for value in new("UsageComplete")]),
        *((f"Old{name}", "UInt64", uint64, old(name)) for name in TOKEN_COLUMNS),
        *((f"New{name}", "UInt64", uint64, new(name)) for name in TOKEN_COLUMNS),
        ("Failed", "Bool", native_format.booleans, [bool(value) for value in old("Failed")]),
        ("SessionId", "String", strings, old("SessionId")),
        ("Attributes", "Map(String, String)", native_format.string_map, old("Attributes")),
    ]
    settings: dict[str, Any] = {"deduplicate_blocks_in_dependent_materialized_views": 1}
    if token:
        settings["insert_deduplication_token"] = token
    with translate_errors():
        client.raw_insert(
            f"{quote_identifier(database)}.{JOURNAL}" if database else JOURNAL,
            [name for name, *_ in columns],
            insert_block=native_format.block(columns),
            settings=settings,
            fmt="Native",
        )
