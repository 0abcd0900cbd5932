# SPDX-License-Identifier: Apache-2.0
"""`llmledger prices refresh`: genai-prices' newest data file, checked, into llmledger's data directory.

Opt-in, never automatic: nothing in llmledger downloads prices by itself. The file is the one genai-prices' own
updater fetches (`genai_prices.update_prices.DEFAULT_UPDATE_URL`), in the form its loader reads. Before it
replaces anything it must be usable (`price_data.verify`: UTF-8 JSON in genai-prices' schema, with model prices),
still have every provider of the bundled snapshot that llmledger prices calls of, and be no older than the data
it would replace, the bundled snapshot and the file already there (its newest dated price no earlier than
theirs), unless `force`. It is written to a temporary file beside the target and renamed over it, so a reader sees
the old file or the new one, never part of one; a refused or failed download leaves the old file as it was.
Prices read it from then on (`price_data`); processes already running keep the data they started with.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

from . import price_data, prices
from .price_data import DataFileError

# genai-prices' published data file, as its own updater fetches it; read from the installed release when it names
# one, since the format follows the release's loader.
_FALLBACK_URL = "https://raw.githubusercontent.com/pydantic/genai-prices/refs/heads/main/prices/new_data/v2/data.json"
_MAX_BYTES = 64 * 2**20  # the file is under a megabyte; anything this large is not it
_SCHEMES = ("https", "http", "file")


class RefreshError(Exception):
    """The data file was not taken; the message names the URL or the file and says why."""


@dataclass(frozen=True, slots=True)
class Refreshed:
    """What a refresh wrote, and what it took the place of."""

    path: Path
    url: str
    providers: int
    models: int
    dated_to: date | None
    replaced: str  # `PriceData.describe()` of the data it replaces
    unchanged: bool  # the file already there held exactly these bytes


def default_url() -> str:
    """Where genai-prices publishes its data file for the installed release's loader."""
    try:
        from genai_prices.update_prices import DEFAULT_UPDATE_URL
    except ImportError:
        return _FALLBACK_URL
    return str(DEFAULT_UPDATE_URL)


def refresh(target: Path, url: str | None = None, *, force: bool = False, timeout: float = 30.0) -> Refreshed:
    """Download genai-prices' data file from `url` (default: `default_url()`), check it and write it to `target`
    atomically. `force` takes a file older than the data it replaces, or one lacking providers llmledger prices.
    RefreshError when it is not taken."""
    url = url or default_url()
    content = download(url, timeout)
    try:
        providers = price_data.verify(content, url)
    except DataFileError as error:
        raise RefreshError(f"{error}; kept the data in place") from error
    _, dated_to = price_data.facts(providers)
    bundled = price_data.bundled()
    replaced = _replaced(target, bundled)
    if not force:
        _check_complete(url, {provider.id for provider in providers}, bundled)
        for baseline in {bundled, replaced}:
            _check_not_older(url, dated_to, baseline)
    unchanged = _holds(target, content)
    if not unchanged:
        write_atomically(target, content)
    return Refreshed(
        path=target,
        url=url,
        providers=len(providers),
        models=sum(len(provider.models) for provider in providers),
        dated_to=dated_to,
        replaced=replaced.describe(),
        unchanged=unchanged,
    )


def download(url: str, timeout: float) -> bytes:
    """The bytes at `url` (https, http or file); RefreshError naming the URL when they cannot be had."""
    if urlsplit(url).scheme not in _SCHEMES:
        raise RefreshError(f"{url}: not an https, http or file URL")
    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "llmledger"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            content: bytes = response.read(_MAX_BYTES + 1)
    except urllib.error.HTTPError as error:
        raise RefreshError(f"{url}: the server answered {error.code} {error.reason}; kept the data in place") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", None) or error
        raise RefreshError(f"{url}: cannot be downloaded: {reason}; kept the data in place") from None
    if len(content) > _MAX_BYTES:
        raise RefreshError(f"{url}: over {_MAX_BYTES >> 20} MB, not a genai-prices data file; kept the data in place")
    return content


def write_atomically(target: Path, content: bytes) -> None:
    """Write `content` to `target` by renaming a complete, synced temporary file over it."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    except OSError as error:
        raise RefreshError(f"{target}: cannot be written: {error.strerror}") from error
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except OSError as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise RefreshError(f"{target}: cannot be written: {error.strerror}") from error
    with contextlib.suppress(OSError):  # the rename itself durable, where the platform allows it
        directory = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


def _replaced(target: Path, bundled: price_data.PriceData) -> price_data.PriceData:
    """The data the new file takes the place of: the file at `target` when it is usable, else the bundled one."""
    if not target.is_file():
        return bundled
    try:
        return price_data.read_file(target)
    except DataFileError:
        return bundled  # an unusable file is replaced whatever its age


def _check_complete(url: str, found: set[str], bundled: price_data.PriceData) -> None:
    """Refuse a file without a provider the bundled snapshot has and llmledger prices calls of: a cut-short file
    would leave their calls unpriced."""
    needed = {provider for provider in prices._GENAI_PRICES_PROVIDER.values() if provider} & bundled.providers
    missing = sorted(needed - found)
    if missing:
        raise RefreshError(
            f"{url}: has no prices for {', '.join(missing)}, which the bundled snapshot has; kept the data in place"
            " (--force takes it anyway)"
        )


def _check_not_older(url: str, dated_to: date | None, baseline: price_data.PriceData) -> None:
    if baseline.dated_to is not None and (dated_to is None or dated_to < baseline.dated_to):
        newest = f"its newest dated price is from {dated_to}" if dated_to else "it has no dated price"
        raise RefreshError(
            f"{url}: older than the data in place: {newest}, while {baseline.describe()}; kept the data in place"
            " (--force takes it anyway)"
        )


def _holds(target: Path, content: bytes) -> bool:
    try:
        return target.read_bytes() == content
    except OSError:
        return False


__all__ = ["RefreshError", "Refreshed", "default_url", "download", "refresh", "write_atomically"]
