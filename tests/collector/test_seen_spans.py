# SPDX-License-Identifier: Apache-2.0
"""The duplicate filter's memory: the last `capacity` span keys, oldest forgotten first, however long it runs."""

from __future__ import annotations

from llmledger.collector.pipeline import SeenSpans


def _keys(first: int, count: int) -> list[str]:
    return [f"{index:032x}{index:016x}" for index in range(first, first + count)]


def test_a_key_is_new_once_and_a_repeat_is_not():
    seen = SeenSpans(capacity=3)
    assert [seen.add(key) for key in ["a", "b", "a"]] == [True, True, False]


def test_the_oldest_key_is_forgotten_first_when_full():
    seen = SeenSpans(capacity=3)
    seen.remember(["a", "b", "c", "d"])  # "a" forgotten
    assert list(seen) == ["b", "c", "d"]
    assert seen.add("a") is True  # new again; now "b" is forgotten
    assert list(seen) == ["c", "d", "a"]


def test_after_many_times_its_capacity_it_still_holds_exactly_the_latest_keys():
    # A long-running collector forgets a key for every new one: the memory must stay the latest `capacity`
    # keys in order (and each forgetting O(1): see SeenSpans.__init__; benchmarks/collector_ingest.py
    # --spans 409600 shows the rate past 200k spans).
    seen = SeenSpans(capacity=1000)
    keys = _keys(0, 25_000)
    assert all(seen.add(key) for key in keys)
    assert list(seen) == keys[-1000:]
    assert not any(seen.add(key) for key in keys[-1000:])
    assert seen.add(keys[-1001]) is True


def test_forgotten_keys_of_a_refused_request_are_new_again_and_the_rest_kept():
    seen = SeenSpans(capacity=5)
    seen.remember(["a", "b"])
    seen.add("c")
    seen.forget(["c", "missing"])
    assert list(seen) == ["a", "b"]
    assert seen.add("c") is True
