# SPDX-License-Identifier: Apache-2.0
"""Python's cycle collector, kept out of the collector's hot paths.

The collector's processes hold many container objects for a short while (a request's span attributes and rows, a
batch of columns) and make almost no reference cycles, yet at Python's default threshold (700 new objects) the
cycle collector runs several times a request, and its full collections walk every object imported at start-up.
`quiet()` freezes what start-up made out of collections and lets more objects come between two collections: a
cycle is still freed, later.
"""

from __future__ import annotations

import gc

THRESHOLD = 100_000  # new container objects between collections (Python's default: 700)


def quiet(threshold: int = THRESHOLD) -> None:
    """Call once start-up is done: everything alive now is never collected again (it lives as long as the
    process), and the youngest generation is collected every `threshold` new objects."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(threshold)
