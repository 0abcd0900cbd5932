# SPDX-License-Identifier: Apache-2.0
"""Re-pricing stored calls: their stored tokens costed again at the prices in force at each call's instant.

A call whose cost changes gets a new version of its `llm_calls` row (Version higher, `RepricedBy` = the run), never
an edit. Each batch of changes goes in two steps:

1. one insert into the journal `llm_call_repricings` (old and new costs of each call), whose views move every
   rollup by exactly the change (migration 0009); the rollups' own views skip re-priced rows (0010);
2. the new versions, copied in ClickHouse from the stored rows with the journal's costs (`INSERT … SELECT`), only
   where the stored version is still the journal's old one.

A run killed anywhere leaves journal rows whose new version is missing; the next run finishes them first (step 2
again, which copies nothing twice), then looks for changes in what `llm_calls FINAL` now holds, so a call is never
journaled twice for one change. `llm_repricing_runs` keeps one audit row per run: when, why, which prices, the
window and the old and new totals of the calls it changed (summed from the journal).

Which calls: every call in the window (and model glob) with usage, except costs a provider reported (they are
the bill, not a price) and the older rows that say only `reported`. A call keeps its cost when no price is known
now, or when the price that costed it does not give its stored cost from its stored tokens (`_recost`).
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from clickhouse_connect.driver.client import Client

from llmledger._core.prices import ModelPrice

from ..exporters.clickhouse import native_format
from ..exporters.clickhouse.client import translate_errors
from ..exporters.clickhouse.errors import BadQuery
from ..exporters.clickhouse.merged_calls import COST_COLUMNS, JOURNAL, JOURNAL_IDENTITY, TOKEN_COLUMNS
from ..exporters.clickhouse.migrations import quote_identifier
from ..exporters.clickhouse.writer import record_prices
from ..extract.costs import PriceCache, price_for
from ..llm_calls import COST_SCALE
from . import _recost
from ._recost import Tokens

RUNS = "llm_repricing_runs"
_NOT_PRICED_AGAIN = ("provider", "reported")  # a bill the provider reported, and older rows that may be one

Progress = Callable[[int, int], None]  # (calls examined, calls in the window)


@dataclass(frozen=True, slots=True)
class Window:
    """Calls that started in [since, until) (Unix ns), of models matching `model_glob` ('' for all)."""

    since_ns: int
    until_ns: int
    model_glob: str = ""


@dataclass(slots=True)
class ModelChange:
    """The calls of one model a run re-priced, and their totals before and after (10⁻¹² USD)."""

    provider: str
    model: str
    calls: int = 0
    old_total: int = 0
    new_total: int = 0


@dataclass(slots=True)
class Outcome:
    """What a run changed (or, for a dry run, would change)."""

    run_id: str
    examined: int = 0  # calls in the window
    unpriced: int = 0  # calls that still have no price
    unreproducible: int = 0  # calls whose stored cost their tokens and price do not give: left as they are
    resumed: int = 0  # calls of earlier, interrupted runs finished first
    by_model: dict[tuple[str, str], ModelChange] = field(default_factory=dict)

    @property
    def calls(self) -> int:
        return sum(change.calls for change in self.by_model.values())

    @property
    def old_total(self) -> Decimal:
        return _usd(sum(change.old_total for change in self.by_model.values()))

    @property
    def new_total(self) -> Decimal:
        return _usd(sum(change.new_total for change in self.by_model.values()))


@dataclass(frozen=True, slots=True)
class _Change:
    stored: dict[str, Any]
    costs: tuple[int, ...]  # the new COST_COLUMNS
    price: ModelPrice
    version: int


class Repricer:
    """Re-prices the calls of a window in `client`'s database (or `database`), `batch_size` calls per insert."""

    def __init__(
        self,
        client: Client,
        *,
        database: str | None = None,
        batch_size: int = 5000,
        progress: Progress | None = None,
        clock_ns: Callable[[], int] | None = None,
    ) -> None:
        self.client = client
        self.batch_size = batch_size
        self.progress = progress
        self.clock_ns = clock_ns or time.time_ns
        self.database = database
        self._db = f"{quote_identifier(database)}." if database else ""
        self._in_database = "{db:String}" if database else "currentDatabase()"
        self._recorded: set[str] = set()  # prices recorded in llm_model_prices by this repricer
        self._columns: list[str] | None = None

    def plan(self, window: Window) -> Outcome:
        """What `run` would change, without writing anything (`--dry-run`)."""
        outcome = Outcome(run_id="")
        pending = self._pending("j.TraceId, j.SpanId") if self._has_journal() else []
        outcome.resumed = len(pending)  # `run` finishes these first; they are not changes of their own
        skipped = {(trace_id, span_id) for trace_id, span_id in pending}
        for changes in self._changes(window, outcome, version=self.clock_ns() // 1000):
            _count(outcome, [c for c in changes if (c.stored["TraceId"], c.stored["SpanId"]) not in skipped])
        return outcome

    def run(self, window: Window, *, reason: str, price_source: str, command: str = "") -> Outcome:
        """Finish interrupted runs, then re-price `window`; the audit row says `reason` and `price_source`."""
        self._require_schema()
        run_id = uuid.uuid4().hex
        started = self.clock_ns()
        outcome = Outcome(run_id=run_id)
        outcome.resumed = self.resume(finished_by=run_id)
        audit = {
            "RunId": run_id,
            "StartedAt": started,
            "Reason": reason,
            "PriceSource": price_source,
            "Since": window.since_ns,
            "Until": window.until_ns,
            "ModelGlob": window.model_glob,
            "Host": socket.gethostname(),
            "Command": command,
        }
        self._audit(audit, "running")
        for batch, changes in enumerate(self._changes(window, outcome, version=started // 1000)):
            self._journal(run_id, batch, changes)
            self._apply(run_id, changes)
            _count(outcome, changes)
        self._audit(audit, "done")
        return outcome

    def resume(self, *, finished_by: str = "") -> int:
        """Write the new versions journaled by runs that were cut short, and close their audit rows; the calls."""
        self._require_schema()
        pending = self._pending(
            "j.RunId, toUnixTimestamp64Nano(min(j.Timestamp)), toUnixTimestamp64Nano(max(j.Timestamp)), count()",
            group_by="j.RunId",
        )
        with translate_errors():
            for run_id, first, last, _ in pending:
                self._apply_between(run_id, first, last + 1)
            unfinished = self.client.query(
                f"SELECT * FROM {self._db}{RUNS} FINAL WHERE Status = 'running' AND RunId != {{run:String}}",
                parameters={"run": finished_by},
            ).named_results()
            for audit in unfinished:
                audit = {key: value for key, value in audit.items() if key not in ("UpdatedAt", "Status")}
                audit["Command"] = f"{audit['Command']} (interrupted; finished by run {finished_by or 'resume'})"
                self._audit(audit, "done")
        return sum(int(row[3]) for row in pending)

    def _pending(self, selected: str, group_by: str = "") -> Sequence[Sequence[Any]]:
        """`selected` of the journal rows (`j`) whose new version is not stored: a run was cut short. Rows of a
        stored call taking a later span's record (`merge:…`, migration 0015) are the collector's to finish: it
        re-reads their batch, and their version carries tokens this copy does not."""
        with translate_errors():
            return self.client.query(
                f"""
                SELECT {selected}
                FROM {self._db}{JOURNAL} AS j
                LEFT JOIN
                (
                    SELECT TraceId, SpanId, max(Version) AS Latest
                    FROM {self._db}llm_calls
                    WHERE (TraceId, SpanId) IN (SELECT TraceId, SpanId FROM {self._db}{JOURNAL})
                    GROUP BY TraceId, SpanId
                ) AS c ON c.TraceId = j.TraceId AND c.SpanId = j.SpanId
                WHERE c.Latest < j.NewVersion AND NOT startsWith(j.RunId, 'merge:')
                {f"GROUP BY {group_by}" if group_by else ""}
                """
            ).result_rows

    # -----------------------------------------------------------------------------------------------------
    # Finding changes.

    def _changes(self, window: Window, outcome: Outcome, *, version: int) -> Iterable[list[_Change]]:
        """Batches of calls whose cost changes, hour by hour through the window."""
        hours = self._hours(window)
        total = sum(count for _, count in hours)
        cache: PriceCache = {}
        batch: list[_Change] = []
        for hour_ns, _ in hours:
            rows = self._calls(window, max(hour_ns, window.since_ns), min(hour_ns + 3600 * 10**9, window.until_ns))
            old_prices = self._stored_prices({row["PriceId"] for row in rows if row["PriceId"]})
            for row in rows:
                outcome.examined += 1
                change = _change(row, old_prices, cache, outcome, version)
                if change is not None:
                    batch.append(change)
                    if len(batch) >= self.batch_size:
                        yield batch
                        batch = []
            if self.progress is not None:
                self.progress(outcome.examined, total)
        if batch:
            yield batch

    def _filter(self, window: Window) -> tuple[str, dict[str, Any]]:
        where = (
            "Timestamp >= fromUnixTimestamp64Nano({since:Int64}) AND Timestamp < fromUnixTimestamp64Nano({until:Int64})"
            " AND CostSource NOT IN {skipped:Array(String)}"
            " AND ({glob:String} = '' OR Model ILIKE {glob:String})"
        )
        parameters = {
            "since": window.since_ns,
            "until": window.until_ns,
            "skipped": list(_NOT_PRICED_AGAIN),
            "glob": _recost.like_pattern(window.model_glob) if window.model_glob else "",
        }
        return where, parameters

    def _hours(self, window: Window) -> list[tuple[int, int]]:
        where, parameters = self._filter(window)
        with translate_errors():
            rows = self.client.query(
                f"SELECT toUnixTimestamp(toStartOfHour(Timestamp)) AS hour, count() FROM {self._db}llm_calls FINAL "
                f"WHERE {where} GROUP BY hour ORDER BY hour",
                parameters=parameters,
            ).result_rows
        return [(int(hour) * 10**9, int(count)) for hour, count in rows]

    def _calls(self, window: Window, since_ns: int, until_ns: int) -> list[dict[str, Any]]:
        where, parameters = self._filter(Window(since_ns, until_ns, window.model_glob))
        with translate_errors():
            return list(
                self.client.query(
                    f"""
                    SELECT toUnixTimestamp64Nano(Timestamp) AS TimestampNs, TraceId, SpanId, Tenant, ServiceName,
                           Environment, Feature, UserId, Provider, Model, Operation, RequestModel, ResponseModel,
                           {", ".join(TOKEN_COLUMNS)}, {", ".join(COST_COLUMNS)},
                           CostSource, PriceId, Version, UsageComplete, SessionId, Attributes,
                           StatusCode IN ('Error', 'STATUS_CODE_ERROR') OR ErrorType != '' AS Failed
                    FROM {self._db}llm_calls FINAL
                    WHERE {where}
                    ORDER BY Timestamp, TraceId, SpanId
                    """,
                    parameters=parameters,
                ).named_results()
            )

    def _stored_prices(self, ids: set[str]) -> dict[str, ModelPrice]:
        if not ids:
            return {}
        with translate_errors():
            rows = self.client.query(
                f"SELECT * FROM {self._db}llm_model_prices FINAL WHERE PriceId IN {{ids:Array(String)}}",
                parameters={"ids": sorted(ids)},
            ).named_results()
            return {row["PriceId"]: _recost.stored_price(row) for row in rows}

    # -----------------------------------------------------------------------------------------------------
    # Writing them.

    def _journal(self, run_id: str, batch: int, changes: Sequence[_Change]) -> None:
        fresh = {change.price.id: change.price for change in changes if change.price.id not in self._recorded}
        record_prices(self.client, fresh.values(), database=self.database)
        self._recorded.update(fresh)
        stored = [change.stored for change in changes]

        def column(name: str) -> list[Any]:
            return [row[name] for row in stored]

        strings = native_format.strings
        columns: list[tuple[str, str, native_format.Encoder, Sequence[Any]]] = [
            ("RunId", "String", strings, [run_id] * len(changes)),
            ("Timestamp", "DateTime64(9)", native_format.int64, column("TimestampNs")),
            *((name, "String", strings, column(name)) for name in JOURNAL_IDENTITY),
            ("OldVersion", "UInt64", native_format.uint64, column("Version")),
            ("NewVersion", "UInt64", native_format.uint64, [change.version for change in changes]),
            ("OldCostSource", "String", strings, column("CostSource")),
            ("NewCostSource", "String", strings, ["collector"] * len(changes)),
            ("OldPriceId", "String", strings, column("PriceId")),
            ("NewPriceId", "String", strings, [change.price.id for change in changes]),
            ("NewPricedModel", "String", strings, [change.price.model for change in changes]),
            # What a re-pricing leaves as it was, for the rollups that keep the tokens of unpriced calls, the cost
            # of failed calls, a session's or an attribute value's cost (migrations 0018 to 0020): old = new.
            *(
                (f"{age}{name}", "UInt64", native_format.uint64, column(name))
                for name in TOKEN_COLUMNS
                for age in ("Old", "New")
            ),
            ("Failed", "Bool", native_format.booleans, [bool(value) for value in column("Failed")]),
            *(
                (f"{age}UsageComplete", "Bool", native_format.booleans, [bool(v) for v in column("UsageComplete")])
                for age in ("Old", "New")
            ),
            ("SessionId", "String", strings, column("SessionId")),
            ("Attributes", "Map(String, String)", native_format.string_map, column("Attributes")),
            *((f"Old{name}", "Decimal(18, 12)", native_format.int64, column(name)) for name in COST_COLUMNS),
            *(
                (f"New{name}", "Decimal(18, 12)", native_format.int64, [change.costs[index] for change in changes])
                for index, name in enumerate(COST_COLUMNS)
            ),
        ]
        with translate_errors():
            self.client.raw_insert(
                f"{self._db}{JOURNAL}",
                [name for name, *_ in columns],
                insert_block=native_format.block(columns),
                settings={
                    "insert_deduplication_token": f"reprice:{run_id}:{batch}",
                    "deduplicate_blocks_in_dependent_materialized_views": 1,
                },
                fmt="Native",
            )

    def _apply(self, run_id: str, changes: Sequence[_Change]) -> None:
        times = [change.stored["TimestampNs"] for change in changes]
        self._apply_between(run_id, min(times), max(times) + 1)

    def _apply_between(self, run_id: str, since_ns: int, until_ns: int) -> None:
        """Copy each call journaled by `run_id` in [since, until) to its new version, where the stored row is
        still the journal's old version (so a second copy is never made)."""
        with translate_errors():
            columns = self._columns = self._columns or [
                name
                for (name,) in self.client.query(
                    f"SELECT name FROM system.columns WHERE database = {self._in_database} AND table = 'llm_calls' "
                    "AND default_kind NOT IN ('MATERIALIZED', 'ALIAS') ORDER BY position",
                    parameters={"db": self.database},
                ).result_rows
            ]
            replaced = {
                **{name: f"j.New{name}" for name in COST_COLUMNS},
                "CostSource": "j.NewCostSource",
                "PriceId": "j.NewPriceId",
                "PricedModel": "if(j.NewPricedModel != '', j.NewPricedModel, c.PricedModel)",
                "Version": "j.NewVersion",
                "RepricedBy": "j.RunId",
            }
            selected = ", ".join(replaced.get(name, f"c.`{name}`") for name in columns)
            window = (
                "Timestamp >= fromUnixTimestamp64Nano({since:Int64})"
                " AND Timestamp < fromUnixTimestamp64Nano({until:Int64})"
            )
            self.client.command(
                f"""
                INSERT INTO {self._db}llm_calls ({", ".join(f"`{name}`" for name in columns)})
                SELECT {selected}
                FROM (SELECT * FROM {self._db}llm_calls FINAL WHERE {window}) AS c
                INNER JOIN
                (
                    SELECT * FROM {self._db}{JOURNAL} WHERE RunId = {{run:String}} AND {window}
                ) AS j ON c.TraceId = j.TraceId AND c.SpanId = j.SpanId AND c.Version = j.OldVersion
                """,
                parameters={"run": run_id, "since": since_ns, "until": until_ns},
            )

    def _audit(self, audit: dict[str, Any], status: str) -> None:
        with translate_errors():
            calls, old_total, new_total = self.client.query(
                f"SELECT count(), sum(OldTotalCost), sum(NewTotalCost) FROM {self._db}{JOURNAL} "
                "WHERE RunId = {run:String}",
                parameters={"run": audit["RunId"]},
            ).result_rows[0]
            row = {**audit, "Status": status, "Calls": calls, "OldTotal": old_total, "NewTotal": new_total}
            for name in ("StartedAt", "Since", "Until"):
                if isinstance(row[name], int):
                    row[name] = _datetime(row[name])
            self.client.insert(f"{self._db}{RUNS}", [list(row.values())], column_names=list(row))

    def _has_journal(self) -> bool:
        try:
            self._require_schema()
        except BadQuery:
            return False
        return True

    def _require_schema(self) -> None:
        with translate_errors():
            found = self.client.query(
                f"SELECT count() FROM system.tables WHERE database = {self._in_database}"
                " AND name IN ('llm_call_repricings', 'llm_repricing_runs')",
                parameters={"db": self.database},
            ).result_rows[0][0]
        if int(found) != 2:
            raise BadQuery("the database has no re-pricing tables yet: run `llmledger schema apply` first")


def _change(
    row: dict[str, Any], old_prices: dict[str, ModelPrice], cache: PriceCache, outcome: Outcome, version: int
) -> _Change | None:
    """The call's new costs, or None when it keeps its cost (counted in `outcome` where that is a problem)."""
    if not row["UsageComplete"]:
        return None  # no usage: nothing to price
    unpriced = row["CostSource"] == "unpriced"
    price = price_for(row["Provider"], row["ResponseModel"], row["RequestModel"], row["TimestampNs"], cache)
    if price is None:
        outcome.unpriced += unpriced
        return None
    for name in COST_COLUMNS:
        row[name] = int(Decimal(row[name]).scaleb(COST_SCALE))
    tokens = Tokens(
        row["InputTokens"], row["OutputTokens"], row["CacheReadInputTokens"], row["CacheCreationInputTokens"]
    )
    old = old_prices.get(row["PriceId"]) if not unpriced else None
    if old is not None and not _recost.reproduces(old, tokens, row["TotalCost"]):
        outcome.unreproducible += 1
        return None
    if old is None and not unpriced and tokens.cache_write and _recost.one_hour_writes_differ(price):
        outcome.unreproducible += 1  # costed elsewhere: its one-hour cache writes cannot be told from the rest
        return None
    input_cost, read, write, output, total, savings = _recost.costs(price, tokens)
    new = (input_cost, read, write, output, 0, total, savings)
    if not unpriced and new == tuple(row[name] for name in COST_COLUMNS):
        return None
    return _Change(row, new, price, max(version, int(row["Version"]) + 1))


def _count(outcome: Outcome, changes: Sequence[_Change]) -> None:
    for change in changes:
        key = (change.stored["Provider"], change.stored["Model"])
        summary = outcome.by_model.get(key)
        if summary is None:
            summary = outcome.by_model[key] = ModelChange(*key)
        summary.calls += 1
        summary.old_total += change.stored["TotalCost"]
        summary.new_total += change.costs[5]


def _usd(units: int) -> Decimal:
    return Decimal(units).scaleb(-COST_SCALE)


def _datetime(unix_ns: int) -> Any:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(unix_ns // 10**9, UTC).replace(microsecond=unix_ns % 10**9 // 1000)
