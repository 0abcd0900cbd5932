# SPDX-License-Identifier: Apache-2.0
"""The in-process account of every budget: reserve before a call, settle or release after.

One ``threading.Lock`` guards all pools, and it is held only for arithmetic (never across I/O or an
``await``), so threads and asyncio tasks can race against the same limit: a reservation is checked and taken
in one step, across every budget that matches the call, all or nothing.

A pool is one budget's account for one value of its ``per`` dimensions. Calendar pools start afresh when the
clock passes their window's end; in-flight reservations carry over, and a call settled after the rollover
counts in the new window (its cost is real, and counting it late only errs on the safe side). Rolling pools
keep their settlements with timestamps and forget those older than the window.

Shared spend (``RemoteSpend``) is combined without undercounting: a snapshot from the collector covers every
process up to ``generated_at - export_lag``; local settlements after that instant are added on top, and the
larger of that sum and the local window total is what counts as spent. Our own recent spend is then counted
twice at worst, never missed.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol

from llmledger._core.budget_file import Budget

from .errors import BudgetExceeded

_log = logging.getLogger(__name__)
_ZERO = Decimal(0)
_PRUNE_AT = 10_000  # pools held before idle ones are dropped

Clock = Callable[[], datetime]
PoolKey = tuple[str, tuple[tuple[str, str], ...]]


@dataclass(frozen=True, slots=True)
class RemoteSpend:
    """One budget pool's spend as the collector last reported it."""

    spent: Decimal
    window_start: datetime
    generated_at: datetime


class RemoteSource(Protocol):
    def spend(self, budget: str, key: tuple[tuple[str, str], ...]) -> RemoteSpend | None: ...


@dataclass(frozen=True, slots=True)
class PoolStatus:
    """A pool as this process sees it now (`llmledger.budgets.status()`)."""

    name: str
    key: dict[str, str]
    window_start: datetime
    window_end: datetime
    limit_usd: Decimal
    spent_usd: Decimal
    reserved_usd: Decimal


@dataclass(slots=True)
class _Pool:
    budget: Budget
    key: tuple[tuple[str, str], ...]
    start: datetime
    end: datetime
    settled: Decimal = _ZERO
    reserved: Decimal = _ZERO
    # (settled at, amount): rolling windows sum these; shared budgets add the ones newer than a snapshot.
    events: deque[tuple[datetime, Decimal]] = field(default_factory=deque)
    reported: bool = False  # an exceedance of this window has been logged


@dataclass(frozen=True, slots=True)
class Overrun:
    """A budget the call takes over its limit without being refused (action log or warn)."""

    budget: Budget
    message: str
    first: bool  # first overrun of this pool's window: worth a log line


class Hold:
    """The reservations one call holds; `close` settles them to the real cost exactly once."""

    __slots__ = ("_closed", "_ledger", "_parts", "overruns")

    def __init__(self, ledger: Ledger, parts: list[tuple[_Pool, Decimal]], overruns: list[Overrun]) -> None:
        self._ledger = ledger
        self._parts = parts
        self._closed = False
        self.overruns = overruns

    def close(self, cost: Decimal | None, complete: bool = True) -> None:
        """Settle to `cost`; None (an SDK error, a cancelled call) releases the hold.

        `complete=False` is a response whose usage never arrived in full: a stream dropped, broken or cancelled
        before its usage, or one that carries none (`stream_options` without usage). The provider billed whatever
        it generated and nobody here can know how much, so the call is charged at least what it reserved, the most
        it could cost: a budget errs towards stopping spend, never towards letting it through unseen.
        """
        self._ledger._settle(self, cost if cost is not None and cost > 0 else _ZERO, at_least_reserved=not complete)


class Ledger:
    def __init__(
        self,
        budgets: Iterable[Budget],
        now: Clock,
        remote: RemoteSource | None = None,
        export_lag: timedelta = timedelta(seconds=60),
        remote_horizon: timedelta = timedelta(minutes=10),
    ) -> None:
        self._budgets: list[Budget] = list(budgets)
        self._now = now
        self._remote = remote
        self._lag = export_lag
        # How long local settlements of calendar windows are kept to combine with a snapshot; a snapshot older
        # than this is combined with the whole local window total instead.
        self._horizon = remote_horizon
        self._lock = threading.Lock()
        self._pools: dict[PoolKey, _Pool] = {}

    @property
    def budgets(self) -> tuple[Budget, ...]:
        return tuple(self._budgets)

    def add(self, budget: Budget) -> None:
        with self._lock:
            if any(b.name == budget.name for b in self._budgets):
                raise ValueError(f"a budget named {budget.name!r} exists already")
            self._budgets.append(budget)

    def reserve(self, dims: Mapping[str, str], amount: Decimal) -> Hold | None:
        """Reserve `amount` on every budget matching `dims`; raise `BudgetExceeded` if a raise-budget would go over.

        None when no budget matches.
        """
        overruns: list[Overrun] = []
        with self._lock:
            now = self._now()
            pools = [self._pool(b, dims, now) for b in self._budgets if b.scope.matches(dims)]
            if not pools:
                return None
            for pool in pools:
                spent = self._spent(pool, now)
                if (
                    spent + pool.reserved + amount <= pool.budget.limit_usd
                    and spent + pool.reserved < pool.budget.limit_usd
                ):
                    continue
                budget = pool.budget
                if budget.action == "raise":
                    raise BudgetExceeded(budget, dict(pool.key), (pool.start, pool.end), spent, pool.reserved, amount)
                overruns.append(Overrun(budget, _message(pool, spent, amount), not pool.reported))
                pool.reported = True
            for pool in pools:
                pool.reserved += amount
            return Hold(self, [(pool, amount) for pool in pools], overruns)

    def status(self) -> list[PoolStatus]:
        with self._lock:
            now = self._now()
            out = []
            for pool in self._pools.values():
                self._roll(pool, now)
                out.append(
                    PoolStatus(
                        pool.budget.name,
                        dict(pool.key),
                        pool.start,
                        pool.end,
                        pool.budget.limit_usd,
                        self._spent(pool, now),
                        pool.reserved,
                    )
                )
            return out

    def _settle(self, hold: Hold, cost: Decimal, at_least_reserved: bool = False) -> None:
        with self._lock:
            if hold._closed:
                return
            hold._closed = True
            now = self._now()
            for pool, amount in hold._parts:
                self._roll(pool, now)
                pool.reserved -= amount
                charged = max(cost, amount) if at_least_reserved else cost
                if charged:
                    pool.settled += charged
                    if self._keeps_events(pool):
                        pool.events.append((now, charged))

    def _pool(self, budget: Budget, dims: Mapping[str, str], now: datetime) -> _Pool:
        key = tuple(budget.key(dims).items())
        pool = self._pools.get((budget.name, key))
        if pool is None or pool.budget is not budget:
            if len(self._pools) >= _PRUNE_AT:
                self._prune(now)
            start, end = budget.window.bounds(now)
            pool = self._pools[(budget.name, key)] = _Pool(budget, key, start, end)
        else:
            self._roll(pool, now)
        return pool

    def _prune(self, now: datetime) -> None:
        """Forget idle pools (no reservation, nothing spent in their current window): one per user adds up."""
        for key, pool in list(self._pools.items()):
            self._roll(pool, now)
            if not pool.reserved and not pool.settled and not pool.events:
                del self._pools[key]

    def _roll(self, pool: _Pool, now: datetime) -> None:
        window = pool.budget.window
        if window.kind == "rolling":
            pool.start, pool.end = window.bounds(now)
            events = pool.events
            while events and events[0][0] <= pool.start:
                pool.settled -= events.popleft()[1]
            return
        if pool.start <= now < pool.end:
            self._forget_old_events(pool, now)
            return
        pool.start, pool.end = window.bounds(now)
        pool.settled = _ZERO
        pool.events.clear()
        pool.reported = False

    def _keeps_events(self, pool: _Pool) -> bool:
        return pool.budget.window.kind == "rolling" or self._remote is not None

    def _forget_old_events(self, pool: _Pool, now: datetime) -> None:
        events = pool.events
        oldest = now - self._horizon
        while events and events[0][0] < oldest:
            events.popleft()

    def _spent(self, pool: _Pool, now: datetime) -> Decimal:
        local = pool.settled
        if self._remote is None:
            return local
        try:
            remote = self._remote.spend(pool.budget.name, pool.key)
        except Exception:
            _log.debug("llmledger: could not read shared budget status", exc_info=True)
            return local
        if remote is None:
            return local
        rolling = pool.budget.window.kind == "rolling"
        if not rolling and remote.window_start != pool.start:
            return local  # a snapshot of another window (the collector has not rolled over yet, or we have not)
        cutoff = remote.generated_at - self._lag
        if rolling or cutoff >= now - self._horizon:
            recent = sum((amount for at, amount in pool.events if at > cutoff), _ZERO)
        else:
            recent = local  # the snapshot is older than the settlements we keep: count all of ours again
        return max(local, remote.spent + recent)


def _message(pool: _Pool, spent: Decimal, amount: Decimal) -> str:
    return str(BudgetExceeded(pool.budget, dict(pool.key), (pool.start, pool.end), spent, pool.reserved, amount))
