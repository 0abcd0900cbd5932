# SPDX-License-Identifier: Apache-2.0
"""A new rollup filled from the rows stored before it existed, exactly once, while collectors go on inserting.

A migration that adds a rollup creates materialized views, which count every insert that starts once they
exist, and copies what was stored before. Where the two meet decides whether a call is counted once, twice or
never, so the migration marks it with a cut-off instant, rendered by the runner as a literal:

- `{cutoff}`, in a `CREATE MATERIALIZED VIEW`, is a moment a little ahead of the server's clock, chosen as the
  view is about to be created, far enough ahead that it exists before it: the view counts the rows stamped
  (`IngestedAt`, `RepricedAt`: `now64()` defaults, fixed as an insert starts) at or after it. Every insert stamped
  so late started after the view existed, so it runs the view.
- `{cutoff:VIEW}` is VIEW's own cut-off, read back from the view's definition, so a view made by an earlier,
  interrupted run or by another collector applying the same migration is matched by its own copy. In the
  `INSERT … SELECT` that copies, the runner first waits until the server's clock has passed every cut-off it
  names and no insert that started before one is still running: every row the copy must count is then
  committed, and every other row is the view's. In another view (one that takes back what VIEW counted) it is
  rendered as it is, without waiting.

So each row is counted by exactly one of the view and the copy. A view's margin is three times the slowest
statement of the migration so far, and at least `MIN_MARGIN`; a view created after its own cut-off (DDL slower
than that) is logged as a warning naming the view, as inserts in that moment may be missing from its rollup.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from clickhouse_connect.driver.client import Client

from .cluster_schema import Cluster
from .errors import BadQuery

__all__ = ["MIN_MARGIN", "WAIT_LIMIT", "Backfill", "printed"]

MIN_MARGIN = 0.1  # seconds: a CREATE MATERIALIZED VIEW on one idle node takes a few milliseconds
WAIT_LIMIT = 600.0  # seconds an insert that started before a cut-off may run on before the copy gives up
_POLL = 0.02

_LOG = logging.getLogger(__name__)
_CUTOFF = "{cutoff}"
_CUTOFF_OF = re.compile(r"\{cutoff:([A-Za-z_][A-Za-z0-9_]*)\}")
_LITERAL = re.compile(r"toDateTime64\('(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3})', 3, 'UTC'\)")
_VIEW = re.compile(
    r"^CREATE (?:OR REPLACE )?MATERIALIZED VIEW (?:IF NOT EXISTS )?`?[^.`\s]+`?\.`?(\w+)`?", re.MULTILINE
)


def _literal(instant: str) -> str:
    return f"toDateTime64('{instant}', 3, 'UTC')"


def printed(statement: str) -> str:
    """`statement` as `schema apply --print` shows it: every cut-off the moment of printing, since a script run
    by hand cannot wait for one (its copy is exact only while nothing else writes)."""
    now = _literal(datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3])
    return _CUTOFF_OF.sub(now, statement.replace(_CUTOFF, now))


class Backfill:
    """Runs one migration's statements on `client`, rendering and waiting for its cut-offs as they come."""

    def __init__(self, client: Client, database: str, cluster: Cluster | None = None) -> None:
        self._client = client
        self._database = database
        # With ON CLUSTER one copy (through the Distributed tables) reads every shard: wait for inserts on all.
        self._processes = (
            f"clusterAllReplicas('{cluster.name}', system.processes)"
            if cluster and cluster.on_cluster
            else "system.processes"
        )
        self._slowest = 0.0

    def run(self, statement: str, settings: dict[str, Any] | None = None) -> None:
        """Execute `statement` with its cut-offs rendered, after waiting for those a copy reads."""
        view = _VIEW.search(statement)
        cutoff = self._new_cutoff() if view and _CUTOFF in statement else None
        if cutoff:
            statement = statement.replace(_CUTOFF, _literal(cutoff))
        if named := sorted(set(_CUTOFF_OF.findall(statement))):
            cutoffs = {name: self._cutoff_of(name) for name in named}
            if not view:  # a copy: what it must count is all committed once its cut-offs are past
                self._wait_past(max(cutoffs.values()), named)
            statement = _CUTOFF_OF.sub(lambda match: _literal(cutoffs[match.group(1)]), statement)
        started = time.monotonic()
        self._client.command(statement, settings=settings)
        self._slowest = max(self._slowest, time.monotonic() - started)
        if view and cutoff and self._cutoff_of(view.group(1)) == cutoff and self._server_passed(cutoff):
            _LOG.warning(
                "materialized view %s.%s was created after its cut-off %s: calls inserted in that moment may be "
                "missing from its rollup (the DDL took longer than the margin)",
                self._database,
                view.group(1),
                cutoff,
            )

    def _new_cutoff(self) -> str:
        """A cut-off for the view about to be created: ahead of the server's clock by three times the slowest
        statement of the migration so far, at least MIN_MARGIN."""
        margin = max(MIN_MARGIN, 3 * self._slowest)
        return str(
            self._client.command(
                "SELECT toString(now64(3, 'UTC') + toIntervalMillisecond({ms:UInt32}))",
                parameters={"ms": round(margin * 1000)},
            )
        )

    def _cutoff_of(self, view: str) -> str:
        """The cut-off written into `view`'s definition; BadQuery when it has none."""
        rows = self._client.query(
            "SELECT create_table_query FROM system.tables WHERE database = {db:String} AND name = {view:String}",
            parameters={"db": self._database, "view": view},
        ).result_rows
        found = _LITERAL.search(rows[0][0]) if rows else None
        if found is None:
            raise BadQuery(f"backfill in {self._database}: view {view} does not exist or holds no cut-off")
        return found.group(1)

    def _server_passed(self, cutoff: str) -> bool:
        return bool(self._client.command(f"SELECT now64(3, 'UTC') >= {_literal(cutoff)}"))

    def _wait_past(self, cutoff: str, views: list[str]) -> None:
        """Until the server's clock is past `cutoff` and every insert that started before it has ended."""
        query = (
            f"SELECT now64(3, 'UTC') >= {_literal(cutoff)}, (SELECT groupArray(query_id) FROM {self._processes} "
            "WHERE query_kind = 'Insert' "
            f"AND now64(3, 'UTC') - toIntervalMillisecond(toUInt64(elapsed * 1000)) < {_literal(cutoff)})"
        )
        deadline = time.monotonic() + WAIT_LIMIT + self._seconds_until(cutoff)
        while True:
            passed, running = self._client.query(query).result_rows[0]
            if passed and not running:
                return
            if time.monotonic() > deadline:
                raise BadQuery(
                    f"backfill of {', '.join(views)} in {self._database}: inserts that started before the cut-off "
                    f"{cutoff} UTC are still running after {WAIT_LIMIT:.0f} s (query ids {', '.join(running)}); "
                    "nothing was copied: apply the schema again once they end"
                )
            time.sleep(_POLL)

    @staticmethod
    def _seconds_until(cutoff: str) -> float:
        at = datetime.strptime(cutoff, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)
        return max(0.0, (at - datetime.now(UTC)) / timedelta(seconds=1))
