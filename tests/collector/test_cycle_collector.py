# SPDX-License-Identifier: Apache-2.0
"""The collector's processes keep the cycle collector quiet: start-up objects frozen out of collections, many
more new objects between two collections, and a cycle made afterwards still freed."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_after_start_up_collections_are_rare_and_cycles_are_still_freed():
    script = textwrap.dedent(
        """
        import gc, weakref
        from llmledger.collector import cycle_collector

        class Node:
            pass

        started = [Node() for _ in range(1000)]
        cycle_collector.quiet()
        assert gc.get_freeze_count() >= 1000
        assert gc.get_threshold()[0] == cycle_collector.THRESHOLD

        collections = []
        gc.callbacks.append(lambda phase, info: phase == "start" and collections.append(info["generation"]))
        held = [Node() for _ in range(cycle_collector.THRESHOLD // 2)]  # a large request's objects
        assert collections == []

        cycle = Node()
        cycle.me = cycle
        freed = weakref.ref(cycle)
        del cycle
        held += [Node() for _ in range(cycle_collector.THRESHOLD)]
        assert collections and freed() is None
        print("ok")
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
