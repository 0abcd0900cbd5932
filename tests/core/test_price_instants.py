# SPDX-License-Identifier: Apache-2.0
"""A price applies at the call's instant, time-of-day prices included, at no extra cost per lookup.

genai-prices has DeepSeek's off-peak hours as a time-of-day price: deepseek-chat costs (USD per million tokens,
input / cache read / output) 0.27 / 0.07 / 1.10 from 00:30 to 16:30 UTC and 0.135 / 0.035 / 0.55 the rest of
the day. Costs below are worked out by hand from those prices.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from llmledger._core import price_data, prices
from llmledger._core.cost import compute, price_of, same_all_day
from llmledger._core.price_data import Calendar
from llmledger._core.usage import Usage

D = Decimal
PEAK = (D("0.27"), D("0.07"), D("1.1"))
OFF_PEAK = (D("0.135"), D("0.035"), D("0.55"))
USAGE = Usage(input_tokens=10_000, cache_read_tokens=2_000, output_tokens=1_000)


def ns(year: int, month: int, day: int, hour: int, minute: int, second: int = 0) -> int:
    """Unix nanoseconds of a UTC date and time."""
    return int(datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp()) * 10**9


def rates(unix_ns: int) -> tuple[object, ...]:
    price = prices.lookup_ns("deepseek", "deepseek-chat", unix_ns)
    assert price is not None
    return price.input, price.cache_read, price.output


def test_deepseek_is_priced_off_peak_from_16_30_to_00_30_utc_to_the_nanosecond():
    assert rates(ns(2026, 12, 6, 10, 0)) == PEAK
    assert rates(ns(2026, 12, 6, 16, 30) - 1) == PEAK
    assert rates(ns(2026, 12, 6, 16, 30)) == OFF_PEAK
    assert rates(ns(2026, 12, 6, 23, 59, 59)) == OFF_PEAK
    assert rates(ns(2026, 12, 7, 0, 0)) == OFF_PEAK
    assert rates(ns(2026, 12, 7, 0, 30) - 1) == OFF_PEAK
    assert rates(ns(2026, 12, 7, 0, 30)) == PEAK


def test_an_off_peak_call_costs_half_a_peak_one():
    off_peak = price_of("deepseek", "deepseek-chat", None, ns(2026, 12, 6, 17, 0))
    peak = price_of("deepseek", "deepseek-chat", None, ns(2026, 12, 6, 12, 0))

    # 8,000 uncached × 0.135 + 2,000 cache reads × 0.035 + 1,000 out × 0.55 = 1,080 + 70 + 550 = 1,700 µUSD
    assert compute(off_peak, USAGE).total == D("0.0017")
    # 8,000 × 0.27 + 2,000 × 0.07 + 1,000 × 1.10 = 2,160 + 140 + 1,100 = 3,400 µUSD
    assert compute(peak, USAGE).total == D("0.0034")
    assert off_peak.id != peak.id  # two prices, told apart wherever a price id is stored


def test_lookup_by_datetime_takes_the_exact_instant():
    assert prices.lookup("deepseek", "deepseek-chat", datetime(2026, 12, 6, 16, 30, tzinfo=UTC)).input == D("0.135")
    before = datetime(2026, 12, 6, 16, 29, 59, 999_999, tzinfo=UTC)
    assert prices.lookup("deepseek", "deepseek-chat", before).input == D("0.27")


def test_a_day_with_a_time_of_day_price_is_not_one_price_all_day():
    noon = ns(2026, 12, 6, 12, 0)
    assert not same_all_day("deepseek", "deepseek-chat", None, noon)
    assert same_all_day("openai", "gpt-4o-mini", None, noon)
    assert same_all_day("vllm", "no-price-anywhere", None, noon)  # no price all day is one answer too


def test_the_calendar_cuts_each_day_where_a_price_changes():
    calendar = price_data.bundled().calendar
    hour = 3600 * 10**9
    assert {hour // 2, 33 * hour // 2} <= set(calendar.cuts)  # 00:30 and 16:30, DeepSeek's windows

    start, end, period = calendar.window(ns(2026, 12, 6, 17, 0))
    assert start <= ns(2026, 12, 6, 17, 0) < end
    assert calendar.period(start) == calendar.period(end - 1) == period != calendar.period(end)


def test_a_period_starts_and_ends_where_the_calendar_says():
    calendar = Calendar(cuts=(1_000, 5_000))
    day = price_data.NS_PER_DAY
    assert [calendar.window(t) for t in (0, 999, 1_000, 4_999, 5_000, day - 1, day)] == [
        (0, 1_000, 0),
        (0, 1_000, 0),
        (1_000, 5_000, 1),
        (1_000, 5_000, 1),
        (5_000, day, 2),
        (5_000, day, 2),
        (day, day + 1_000, 3),
    ]
    assert Calendar().window(day + 7) == (day, 2 * day, 1)  # no cut: a period is a day


def test_an_override_dated_from_a_day_applies_at_every_instant_of_it(tmp_path, monkeypatch):
    path = tmp_path / "prices.json"
    entry = {"provider": "deepseek", "model": "deepseek-chat", "valid_from": "2025-09-05"}
    path.write_text(json.dumps({"prices": [{**entry, "input": 0.28, "cache_read": 0.028, "output": 0.42}]}))
    monkeypatch.setenv("LLMLEDGER_PRICES_FILE", str(path))
    prices.reload()

    assert rates(ns(2025, 9, 5, 0, 0)) == (D("0.28"), D("0.028"), D("0.42"))
    assert rates(ns(2025, 9, 5, 17, 0)) == (D("0.28"), D("0.028"), D("0.42"))  # no off-peak any more
    assert rates(ns(2025, 9, 4, 17, 0)) == OFF_PEAK  # the day before, genai-prices' time-of-day price


@pytest.mark.parametrize("hour", [3, 12, 20])
def test_a_cached_price_is_the_price_of_its_period(hour):
    """The second lookup in a period answers from the cache (one probe); it is the same price object."""
    first = prices.lookup_ns("deepseek", "deepseek-chat", ns(2026, 12, 6, hour, 0))
    again = prices.lookup_ns("deepseek", "deepseek-chat", ns(2026, 12, 6, hour, 0) + 59 * 60 * 10**9)
    assert again is first
