# SPDX-License-Identifier: Apache-2.0
"""Token usage in the semantic conventions' inclusive model.

Every provider reports usage differently; extractors translate into this one shape so that pricing, span
attributes and the collector never need to know whose counts they hold. Unknown stays `None`, never 0:
"no cache reads reported" and "zero cache reads" are different facts.
"""

from typing import NamedTuple


class Usage(NamedTuple):
    """Token counts of one call.

    `input_tokens` includes cache reads and cache writes; `output_tokens` includes reasoning. The other
    counts are subsets: `cache_write_1h_tokens` is the part of `cache_write_tokens` written with a one-hour
    TTL (priced higher than the default five-minute writes).

    A named tuple rather than a frozen dataclass: as immutable, and built several times per call, where a
    frozen dataclass's `__init__` (one `object.__setattr__` per field) cost four times as much.
    """

    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    cache_write_1h_tokens: int | None = None
    reasoning_tokens: int | None = None

    @property
    def is_empty(self) -> bool:
        return self.input_tokens is None and self.output_tokens is None


def as_count(value: object) -> int | None:
    """A token count from whatever a response holds: ints, integral floats (Bedrock Titan), or junk."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    return None
