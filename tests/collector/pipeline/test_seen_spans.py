# SPDX-License-Identifier: Apache-2.0
"""The duplicate filter's memory: the last `capacity` span keys, oldest forgotten first, however long it runs."""

from __future__ import annotations

from llmledger.collector.pipeline.seen_spans import SeenSpans


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


def test_a_request_s_keys_are_taken_at_once_new_ones_by_index_and_a_key_repeated_within_it_new_once():
    seen = SeenSpans(capacity=10)
    assert list(seen.add_all(["a", "b"])) == [0, 1]
    assert list(seen.add_all(["c", "a", "d", "c"])) == [0, 2]  # "a" seen before, the second "c" a repeat
    assert list(seen.add_all(["e", "e"])) == [0]
    assert list(seen) == ["a", "b", "c", "d", "e"]


def test_whole_requests_past_the_capacity_keep_exactly_the_latest_keys():
    seen = SeenSpans(capacity=1000)
    keys = _keys(0, 5_000)
    for first in range(0, 5_000, 300):  # requests that do not divide the capacity
        assert list(seen.add_all(keys[first : first + 300])) == list(range(len(keys[first : first + 300])))
    assert list(seen) == keys[-1000:]
    assert list(seen.add_all(keys[-1000:])) == []
    assert list(seen.add_all([keys[-1001], keys[-1]])) == [0]


def test_a_forgotten_request_in_the_middle_leaves_the_order_of_the_rest_and_counts_toward_nothing():
    seen = SeenSpans(capacity=4)
    seen.add_all(["a", "b"])
    seen.add_all(["c", "d"])
    seen.forget(["a", "b"])  # refused after a later request was taken
    assert list(seen) == ["c", "d"]
    seen.add_all(["e", "f"])
    assert list(seen) == ["c", "d", "e", "f"]  # a full capacity of remembered keys, none lost to the forgotten
    seen.add_all(["g"])
    assert list(seen) == ["d", "e", "f", "g"]
