# SPDX-License-Identifier: Apache-2.0
"""The spend-rate alert: the last hour's spend against its trailing baseline, once per episode.

Every evaluation (the budget loop's, 15 s by default) reads `llm_budget_usage`, the 15-minute rollup: "the last
hour" is the current quarter-hour and the three before it (45 to 60 minutes), and the baseline the
`baseline_hours` before those, as a mean per hour. An episode begins when the last hour spent at least `min_usd`
and more than `multiple` × the baseline's mean (a scope with no baseline at all fires on `min_usd` alone: new
spend is a spike too); it ends when that no longer holds. A notice is sent when an episode begins, never again
until it has ended: `fired` and `ended` rows in `llm_spend_rate_alerts`, written before the notice goes out and
read back at start, carry that across restarts. With `per`, each value of those dimensions (each service, say)
has its own episodes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from clickhouse_connect.driver.client import Client

from llmledger._core.alert_settings import SpendRate

from ..budgets.status import decimal_text, iso
from ..exporters.clickhouse.client import translate_errors
from ..exporters.clickhouse.migrations import quote_identifier
from .channels import Channel

TABLE = "llm_spend_rate_alerts"
_COLUMNS = {"tenant": "Tenant", "service": "ServiceName", "feature": "Feature", "model": "Model"}
_log = logging.getLogger(__name__)
_Key = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class SpendSpike:
    key: dict[str, str]
    last_hour_usd: Decimal
    baseline_usd_per_hour: Decimal
    multiple: Decimal
    baseline_hours: int
    fired_at: datetime

    def title(self) -> str:
        scope = " ".join(f"{dim}={value}" for dim, value in self.key.items())
        return f"LLM spend spike{f' ({scope})' if scope else ''}"

    def message(self) -> str:
        last = decimal_text(self.last_hour_usd.quantize(Decimal("0.000001")))
        head = f"{self.title()}: ${last} in the last hour"
        alert_at = f"alert at {decimal_text(self.multiple)}×"
        if not self.baseline_usd_per_hour:
            return f"{head}, after no spend in the {self.baseline_hours} hours before; {alert_at}"
        ratio = self.last_hour_usd / self.baseline_usd_per_hour
        mean = decimal_text(self.baseline_usd_per_hour.quantize(Decimal("0.000001")))
        return f"{head}, {ratio:.1f}× the hourly mean of the {self.baseline_hours} hours before (${mean}/h); {alert_at}"

    def document(self) -> dict[str, Any]:
        return {
            "alert": "spend_rate",
            "key": dict(self.key),
            "last_hour_usd": decimal_text(self.last_hour_usd),
            "baseline_usd_per_hour": decimal_text(self.baseline_usd_per_hour),
            "multiple": decimal_text(self.multiple),
            "baseline_hours": self.baseline_hours,
            "fired_at": iso(self.fired_at),
        }


class SpendRateWatch:
    def __init__(
        self,
        client: Client,
        settings: SpendRate,
        channel: Channel | None = None,
        *,
        database: str | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client = client
        self.settings = settings
        self.channel = channel
        self.clock = clock
        prefix = f"{quote_identifier(database)}." if database else ""
        self._table = prefix + TABLE
        self._usage = prefix + "llm_budget_usage"
        self._open: set[_Key] | None = None  # keys in an episode; loaded on first use

    def evaluate(self) -> list[SpendSpike]:
        """Begin and end episodes from the current spend; the spikes that began (and were announced)."""
        now = self.clock()
        rates = self._rates(now)
        in_episode = self._load()
        began: list[SpendSpike] = []
        ended: list[tuple[_Key, Decimal, Decimal]] = []
        for key, (last_hour, baseline) in rates.items():
            above = last_hour >= self.settings.min_usd and last_hour > self.settings.multiple * baseline
            if above and key not in in_episode:
                began.append(
                    SpendSpike(
                        dict(key), last_hour, baseline, self.settings.multiple, self.settings.baseline_hours, now
                    )
                )
            elif not above and key in in_episode:
                ended.append((key, last_hour, baseline))
        ended += [(key, Decimal(0), Decimal(0)) for key in in_episode - set(rates)]  # no spend left at all
        rows = [[dict(s.key), "fired", now, s.last_hour_usd, s.baseline_usd_per_hour, s.multiple] for s in began]
        rows += [[dict(key), "ended", now, last, base, self.settings.multiple] for key, last, base in ended]
        if rows:
            with translate_errors():
                self.client.insert(
                    self._table,
                    rows,
                    column_names=["Key", "Event", "At", "LastHourUsd", "BaselineUsdPerHour", "Multiple"],
                )
        in_episode |= {tuple(sorted(spike.key.items())) for spike in began}
        in_episode -= {key for key, _, _ in ended}
        for spike in began:
            _log.warning("%s", spike.message())
            if self.channel is not None:
                self.channel.send(spike)
        return began

    def _rates(self, now: datetime) -> dict[_Key, tuple[Decimal, Decimal]]:
        """(last hour's spend, baseline mean per hour) by key, for the keys with spend in either."""
        dims = self.settings.per
        columns = ", ".join(_COLUMNS[dim] for dim in dims)
        sql = (
            "WITH parseDateTimeBestEffort({now:String}, 'UTC') AS At, "
            "toStartOfFifteenMinutes(At - toIntervalMinute(45)) AS HourStart "
            f"SELECT {columns + ', ' if dims else ''}sumIf(TotalCost, Bucket >= HourStart), "
            "sumIf(TotalCost, Bucket < HourStart) "
            f"FROM {self._usage} WHERE Bucket >= HourStart - toIntervalHour({{hours:UInt32}}) AND Bucket <= At"
            + (f" GROUP BY {columns}" if dims else "")
        )
        params = {"now": now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"), "hours": self.settings.baseline_hours}
        with translate_errors():
            found = self.client.query(sql, parameters=params).result_rows
        rates = {}
        for row in found:
            key = tuple(zip(dims, map(str, row[: len(dims)]), strict=True))
            last_hour, before = Decimal(row[len(dims)]), Decimal(row[len(dims) + 1])
            if last_hour or before:
                rates[key] = (last_hour, before / self.settings.baseline_hours)
        return rates

    def _load(self) -> set[_Key]:
        if self._open is None:
            with translate_errors():
                rows = self.client.query(f"SELECT Key, argMax(Event, At) FROM {self._table} GROUP BY Key").result_rows
            self._open = {tuple(sorted(dict(key).items())) for key, event in rows if event == "fired"}
        return self._open


__all__ = ["TABLE", "SpendRateWatch", "SpendSpike"]
