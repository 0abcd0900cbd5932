# SPDX-License-Identifier: Apache-2.0
"""`llmledger prices show`: which price a call to a model gets at an instant, and where that price came from.

It asks the lookup the instrumentation and the collector use (`prices.lookup_ns`), so it shows what they would
charge, with the same price file and the same genai-prices data in force; then it says where the price came from
(the override file and its entry, a refreshed data file, or the bundled snapshot and how recent it is) and, where
the price changes within the day (a time-of-day price), from when until when it applies.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from . import price_data, prices
from .prices import ModelPrice

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Explanation:
    """The price a call to `model` at `provider` started at `at` pays, and its provenance."""

    model: str
    provider: str
    at: datetime
    price: ModelPrice | None  # None: calls to it are unpriced
    source: str  # where the price came from, in one line; where it would have come from when there is none
    since: datetime | None = None  # when the price started to apply, up to a day before `at`; None: all that day
    until: datetime | None = None  # when it stops applying, up to a day after `at`; None: all that day
    valid_from: date | None = None  # the override entry's first day, when an override prices it


def explain(model: str, provider: str = "", at: datetime | None = None) -> Explanation:
    """Which price a call to `model` at `provider` (a `gen_ai.provider.name`, or "" for any) started at `at`
    (default: now; a naive time is UTC) pays, as the instrumentation and the collector would charge it."""
    at = datetime.now(UTC) if at is None else (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC)
    unix_ns = _unix_ns(at)
    price = prices.lookup_ns(provider, model, unix_ns)
    data = price_data.in_force()
    price_file = os.environ.get(prices.PRICES_FILE_ENV)
    named_file = f"the price file {price_file} ({prices.PRICES_FILE_ENV})" if price_file else ""
    if price is None:
        return Explanation(model, provider, at, None, " and ".join(filter(None, (named_file, data.describe()))))
    since, until = _window(provider, model, unix_ns, price, data.calendar)
    if price.source == "override":
        source = f"{named_file}, entry {price.pattern!r} ({price.version})"
        return Explanation(model, provider, at, price, source, since, until, _valid_from(price))
    return Explanation(model, provider, at, price, data.describe(), since, until)


def _unix_ns(moment: datetime) -> int:
    since = moment - _EPOCH
    return (since.days * 86_400 + since.seconds) * 10**9 + since.microseconds * 1000


def _window(
    provider: str, model: str, unix_ns: int, price: ModelPrice, calendar: price_data.Calendar
) -> tuple[datetime | None, datetime | None]:
    """From when until when `price` applies around `unix_ns`, looking at most a day each way; None for a side on
    which it holds all that day (no time-of-day price)."""
    period = calendar.period(unix_ns)
    per_day = len(calendar.cuts) + 1

    def same(other: int) -> bool:
        found = prices.lookup_ns(provider, model, calendar.bounds(other)[0])
        return found is not None and found.id == price.id

    first = period
    while period - first < per_day and same(first - 1):
        first -= 1
    last = period
    while last - period < per_day and same(last + 1):
        last += 1
    if period - first >= per_day and last - period >= per_day:
        return None, None
    since = None if period - first >= per_day else _moment(calendar.bounds(first)[0])
    until = None if last - period >= per_day else _moment(calendar.bounds(last)[1])
    return since, until


def _moment(unix_ns: int) -> datetime:
    return _EPOCH + timedelta(microseconds=unix_ns // 1000)


def _valid_from(price: ModelPrice) -> date | None:
    key = prices._overrides_key()
    if key is None:
        return None
    for entry in prices._load_overrides(*key):
        if entry.price.id == price.id:
            return None if entry.valid_from == date.min else entry.valid_from
    return None


__all__ = ["Explanation", "explain"]
