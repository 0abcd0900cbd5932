# SPDX-License-Identifier: Apache-2.0
"""Bedrock's token counts, from each place a response can report them, in the span contract's inclusive model.

Bedrock reports what it bills in three places: the `x-amzn-bedrock-*-token-count` headers of an `InvokeModel`
response, the `amazon-bedrock-invocationMetrics` of a response stream's last chunk, and the `usage` of the
Converse APIs. All three count input without the tokens read from or written to the prompt cache, so the
inclusive input is input + cache reads + cache writes. A model's own body may report usage too, in its family's
shape (`_bodies.usage`); where the two disagree (a Claude stream's last `message_delta` has been seen to count
more output than the invocation metrics), the billable counts win, and the body only adds what they lack (the
one-hour part of the cache writes, reasoning).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmledger._core.usage import Usage, as_count

from .._shared.fields import field as _get

_HEADER = "x-amzn-bedrock-{}-token-count"
_HEADERS = tuple(_HEADER.format(kind) for kind in ("input", "output", "cache-read-input", "cache-write-input"))


def billed(
    uncached: int | None,
    output: int | None,
    cache_read: int | None = None,
    cache_write: int | None = None,
    cache_write_1h: int | None = None,
) -> Usage:
    """Usage from Bedrock's counts, whose input leaves the cache reads and writes out."""
    total_input = None if uncached is None else uncached + (cache_read or 0) + (cache_write or 0)
    return Usage(total_input, output, cache_read, cache_write, cache_write_1h)


def from_headers(headers: Any) -> Usage | None:
    """The billed counts of an `InvokeModel` response (botocore's `ResponseMetadata.HTTPHeaders`, lower-case);
    None when it has none."""
    if not isinstance(headers, Mapping):
        return None
    counts = [as_count(_int(headers.get(name))) for name in _HEADERS]
    if counts[0] is None and counts[1] is None:
        return None
    return billed(*counts)


def from_metrics(metrics: Any) -> Usage | None:
    """The billed counts in a response stream's `amazon-bedrock-invocationMetrics`; None when absent."""
    if not isinstance(metrics, Mapping):
        return None
    uncached, output = as_count(metrics.get("inputTokenCount")), as_count(metrics.get("outputTokenCount"))
    if uncached is None and output is None:
        return None
    return billed(
        uncached,
        output,
        as_count(metrics.get("cacheReadInputTokenCount")),
        as_count(metrics.get("cacheWriteInputTokenCount")),
    )


def from_converse(usage: Any) -> Usage:
    """A Converse `usage` (and Amazon Nova's body `usage`, which names the cache counts `…TokenCount`).

    `cacheDetails` splits the cache writes by TTL; the one-hour writes are priced apart.
    """
    if usage is None:
        return Usage()
    cache_read = as_count(_get(usage, "cacheReadInputTokens"))
    if cache_read is None:
        cache_read = as_count(_get(usage, "cacheReadInputTokenCount"))
    cache_write = as_count(_get(usage, "cacheWriteInputTokens"))
    if cache_write is None:
        cache_write = as_count(_get(usage, "cacheWriteInputTokenCount"))
    return billed(
        as_count(_get(usage, "inputTokens")),
        as_count(_get(usage, "outputTokens")),
        cache_read,
        cache_write,
        _one_hour_writes(_get(usage, "cacheDetails")),
    )


def _one_hour_writes(details: Any) -> int | None:
    if not isinstance(details, list | tuple):
        return None
    hours = [as_count(_get(d, "inputTokens")) for d in details if _get(d, "ttl") == "1h"]
    return sum(count or 0 for count in hours) if hours else None


def prefer(billable: Usage | None, reported: Usage | None) -> Usage:
    """The billable counts where there are any, completed by what only the body reports; else the body's."""
    if billable is None:
        return reported or Usage()
    if reported is None:
        return billable
    if billable.cache_read_tokens is None and billable.cache_write_tokens is None:
        # Billable counts without cache counts (no cache headers) leave the cache out of their input, as all do:
        # what the body says was read or written joins it.
        read, write = reported.cache_read_tokens, reported.cache_write_tokens
        if (read or write) and billable.input_tokens is not None:
            billable = billable._replace(
                input_tokens=billable.input_tokens + (read or 0) + (write or 0),
                cache_read_tokens=read,
                cache_write_tokens=write,
            )
    write_1h = reported.cache_write_1h_tokens
    if write_1h is not None and reported.cache_write_tokens != billable.cache_write_tokens:
        write_1h = None  # a split of another number of writes says nothing of these
    reasoning = reported.reasoning_tokens
    if reasoning is not None and billable.output_tokens is not None and reasoning > billable.output_tokens:
        reasoning = None
    return billable._replace(cache_write_1h_tokens=write_1h, reasoning_tokens=reasoning)


def _int(value: Any) -> Any:
    """A header value as an int when it is one ("18131"), else as it is."""
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return None
    return value
