# SPDX-License-Identifier: Apache-2.0
"""The genai-prices data that prices come from: the snapshot bundled with genai-prices, or a newer data file.

genai-prices publishes its data as one JSON file (a list of providers, each with its models and their dated
prices); `llmledger prices refresh` (`price_refresh`) writes the newest one into llmledger's data directory, and
then the instrumentation and the collector price with it instead of the bundled snapshot. Which data is in force:

1. ``LLMLEDGER_PRICES_DATA``: the path of a genai-prices data file, or ``bundled`` for the bundled snapshot
   whatever the data directory holds;
2. else ``prices/genai-prices.json`` in llmledger's data directory (``$LLMLEDGER_DATA_DIR``, else
   ``$XDG_DATA_HOME/llmledger``, else ``~/.local/share/llmledger``: the collector's), when it exists;
3. else the snapshot bundled with the installed genai-prices.

The choice is made once per process, at the first lookup (instrumentors make it in a background thread when they
instrument, off the call path): reading a data file takes about a tenth of a second, which no call should wait
for, so an app or a collector keeps the data it started with until it restarts. A file that cannot be used is
logged at ERROR, naming the file and what is wrong, and the bundled snapshot prices instead: the app never breaks.

A price may change at any instant of a day (DeepSeek's off-peak hours, genai-prices' time-of-day constraints),
so the data's `Calendar` cuts each UTC day at every time of day at which any price in it changes. Within one of
those periods no price changes, which is what lookups are cached by, and a period knows when it ends.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from functools import lru_cache
from pathlib import Path
from typing import Any

from .data_dir import DATA_DIR_ENV, data_dir

_log = logging.getLogger(__name__)

PRICES_DATA_ENV = "LLMLEDGER_PRICES_DATA"
BUNDLED = "bundled"  # the value of LLMLEDGER_PRICES_DATA that asks for the bundled snapshot
FILE_NAME = "genai-prices.json"
NS_PER_DAY = 86_400 * 10**9


class DataFileError(ValueError):
    """A data file that cannot be used; the message names it (or the URL it came from) and says what is wrong."""


@dataclass(frozen=True, slots=True)
class Calendar:
    """Each UTC day cut at `cuts` (nanoseconds after midnight, ascending, none of them 0): within one of the
    periods between cuts no price changes. Periods are numbered on across days, ``len(cuts) + 1`` a day."""

    cuts: tuple[int, ...] = ()

    def period(self, unix_ns: int) -> int:
        """The number of the period that holds the instant `unix_ns` (Unix time in nanoseconds)."""
        if not self.cuts:
            return unix_ns // NS_PER_DAY
        day, into = divmod(unix_ns, NS_PER_DAY)
        return day * (len(self.cuts) + 1) + bisect_right(self.cuts, into)

    def bounds(self, period: int) -> tuple[int, int]:
        """When `period` starts and when it ends (the first instant after it), in Unix nanoseconds."""
        day, slot = divmod(period, len(self.cuts) + 1)
        edges = (0, *self.cuts, NS_PER_DAY)
        return day * NS_PER_DAY + edges[slot], day * NS_PER_DAY + edges[slot + 1]

    def window(self, unix_ns: int) -> Window:
        """(start, end, number) of the period that holds `unix_ns`."""
        period = self.period(unix_ns)
        return (*self.bounds(period), period)


Window = tuple[int, int, int]  # a period's start and end (Unix ns) and its number


@dataclass(frozen=True, eq=False)
class PriceData:
    """One set of genai-prices data and what is known of where it came from."""

    snapshot: Any  # genai_prices.data_snapshot.DataSnapshot
    version: str  # what a price from it records as `llmledger.price.version`
    calendar: Calendar
    dated_to: date | None  # the latest date on which a price in it starts: how recent the data is
    providers: frozenset[str]  # genai-prices' ids of the providers it has
    path: Path | None = None  # the data file; None for the bundled snapshot
    chosen_by: str = ""  # how the file was chosen: the variable, or the data directory
    written: datetime | None = None  # when the file was last written (a refresh), UTC
    # The period of the latest lookup: calls come in time order, so the next one is nearly always in it too, and
    # the hot path then compares two integers instead of working the period out (`period_of`).
    recent: list[Window] = field(default_factory=lambda: [(0, 0, 0)], repr=False)

    def period_of(self, unix_ns: int) -> int:
        """`calendar.period(unix_ns)`, from the latest lookup's period when the instant is in it."""
        start, end, period = self.recent[0]
        if start <= unix_ns < end:
            return period
        window = self.calendar.window(unix_ns)
        self.recent[0] = window  # one tuple replaced whole: a thread reading it sees the old or the new one
        return window[2]

    def describe(self) -> str:
        """Where prices from this data come from, in one line, as `llmledger prices show` prints it."""
        dated = f"prices dated up to {self.dated_to}" if self.dated_to else "no dated prices"
        if self.path is None:
            return f"{self.version}, the snapshot bundled with the package ({dated})"
        written = f"written {self.written:%Y-%m-%d %H:%M} UTC" if self.written else ""
        facts = "; ".join(part for part in (self.chosen_by, f"{written}, {dated}".lstrip(", "), self.version) if part)
        return f"genai-prices data file {self.path} ({facts})"


def default_file(directory: Path | None = None, environ: Mapping[str, str] = os.environ) -> Path:
    """Where `llmledger prices refresh` writes, and where prices look for a data file: in the data directory."""
    return (directory if directory is not None else data_dir(environ)) / "prices" / FILE_NAME


def chosen_file(directory: Path | None = None, environ: Mapping[str, str] = os.environ) -> tuple[Path | None, str]:
    """(the data file prices should come from, or None for the bundled snapshot; what chose it). `directory`:
    the data directory to look in [the one the program named (`use_data_dir`), else the environment's]."""
    named = environ.get(PRICES_DATA_ENV)
    if named:
        if named.strip().lower() == BUNDLED:
            return None, f"{PRICES_DATA_ENV}={named}"
        return Path(named).expanduser(), PRICES_DATA_ENV
    found = default_file(directory or _directory[0], environ)
    return (found, "the data directory") if found.is_file() else (None, "")


# ---------------------------------------------------------------------------------------------------------
# The data in force in this process.

_chosen: list[PriceData | None] = [None]
_choosing = threading.Lock()
_directory: list[Path | None] = [None]  # a data directory given by the program (the collector's --data-dir)


def in_force() -> PriceData:
    """The data prices come from in this process, chosen at the first call (see the module's docstring)."""
    chosen = _chosen[0]
    if chosen is not None:
        return chosen
    with _choosing:
        chosen = _chosen[0]
        if chosen is None:
            chosen = _chosen[0] = _choose()
        return chosen


def forget() -> None:
    """Choose the data again at the next lookup (after the variable or the data directory changed)."""
    _chosen[0] = None


def use_data_dir(directory: Path | None) -> None:
    """Look for the data file in `directory` rather than the environment's data directory: for a program given
    its data directory on the command line (the collector's --data-dir). None goes back to the environment's."""
    _directory[0] = directory
    forget()


def _choose() -> PriceData:
    path, chosen_by = chosen_file()
    if path is None:
        return bundled()
    try:
        return read_file(path, chosen_by)
    except DataFileError as error:
        _log.error("%s; pricing with the bundled genai-prices snapshot instead", error)
        return bundled()


@lru_cache(maxsize=1)
def bundled() -> PriceData:
    """The snapshot bundled with genai-prices (or the one genai-prices' own updater put in its place)."""
    from importlib.metadata import version

    from genai_prices import data_snapshot

    snapshot = data_snapshot.get_snapshot()
    calendar, dated_to = facts(snapshot.providers)
    return PriceData(
        snapshot=snapshot,
        version=f"genai-prices {version('genai-prices')}",
        calendar=calendar,
        dated_to=dated_to,
        providers=frozenset(provider.id for provider in snapshot.providers),
    )


def read_file(path: Path, chosen_by: str = "") -> PriceData:
    """The data in the file at `path`, verified (`verify`); DataFileError naming the file when it is unusable."""
    try:
        stat = path.stat()
    except OSError as error:
        raise DataFileError(f"{_named(path, chosen_by)}: cannot be read: {error.strerror}") from error
    return _read(str(path), stat.st_mtime_ns, chosen_by)


@lru_cache(maxsize=4)
def _read(path_text: str, mtime_ns: int, chosen_by: str) -> PriceData:
    from genai_prices.data_snapshot import DataSnapshot

    path = Path(path_text)
    try:
        content = path.read_bytes()
    except OSError as error:
        raise DataFileError(f"{_named(path, chosen_by)}: cannot be read: {error.strerror}") from error
    providers = verify(content, _named(path, chosen_by))
    calendar, dated_to = facts(providers)
    return PriceData(
        snapshot=DataSnapshot(providers=providers, from_auto_update=False),
        version=f"{path.name}:{hashlib.sha1(content).hexdigest()[:12]}",
        calendar=calendar,
        dated_to=dated_to,
        providers=frozenset(provider.id for provider in providers),
        path=path,
        chosen_by=chosen_by,
        written=datetime.fromtimestamp(mtime_ns / 1e9, UTC),
    )


def _named(path: Path, chosen_by: str) -> str:
    return f"{PRICES_DATA_ENV}={path}" if chosen_by == PRICES_DATA_ENV else str(path)


# ---------------------------------------------------------------------------------------------------------
# Reading and checking a data file.


def verify(content: bytes, where: str) -> list[Any]:
    """genai-prices' providers in `content`, a data file's bytes, once sure they can price calls: JSON, in the
    form genai-prices' own loader accepts, with at least one model. DataFileError starting with `where`."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DataFileError(f"{where}, byte {error.start + 1}: not UTF-8 text") from error
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise DataFileError(
            f"{where}, line {error.lineno}, column {error.colno}: not valid JSON: {error.msg}"
        ) from error
    if not isinstance(raw, list):
        raise DataFileError(f"{where}: not genai-prices data: expected a list of providers, got {_kind(raw)}")
    try:
        from genai_prices.types import _providers_from_raw
    except ImportError as error:  # a genai-prices release without the loader its own updater uses
        raise DataFileError(f"{where}: this genai-prices release cannot read data files ({error})") from error
    try:
        providers: list[Any] = _providers_from_raw(raw)
    except (ValueError, TypeError) as error:  # pydantic's ValidationError is a ValueError
        raise DataFileError(f"{where}: not genai-prices data: {_first_problem(error, raw)}") from error
    if not any(provider.models for provider in providers):
        raise DataFileError(f"{where}: holds no model prices")
    return providers


def _kind(value: object) -> str:
    return {dict: "an object", str: "a string", type(None): "null"}.get(type(value), type(value).__name__)


def _first_problem(error: Exception, raw: list[Any]) -> str:
    """What is wrong, and where, as a person can find it: `provider 'deepseek', model 'deepseek-chat': …`.

    genai-prices validates each price mapping apart from the rest, so pydantic's own location can lack the provider
    and the model; they are found by loading one provider, then one model, at a time (on this failure path only).
    """
    from genai_prices.types import _providers_from_raw

    def fails(part: list[Any]) -> Exception | None:
        try:
            _providers_from_raw(part)
        except (ValueError, TypeError) as failure:
            return failure
        return None

    where: list[str] = []
    for index, provider in enumerate(raw):
        failure = fails([provider])
        if failure is None:
            continue
        error = failure
        named = provider.get("id") if isinstance(provider, dict) else None
        where.append(f"provider {named!r}" if isinstance(named, str) else f"provider #{index + 1}")
        models = provider.get("models") if isinstance(provider, dict) else None
        for model in models if isinstance(models, list) else ():
            failure = fails([{**provider, "models": [model]}])
            if failure is not None:
                error = failure
                model_id = model.get("id") if isinstance(model, dict) else None
                where.append(f"model {model_id!r}" if isinstance(model_id, str) else "a model")
                break
        break
    return f"{', '.join(where) or 'the file'}: {_pydantic_message(error)}"


def _pydantic_message(error: Exception) -> str:
    errors = getattr(error, "errors", None)
    problems = errors() if callable(errors) else None
    if not problems:
        return str(error).splitlines()[0]
    first = problems[0]
    path = ".".join(str(part) for part in first.get("loc", ()))
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{path + ': ' if path else ''}{first.get('msg', 'invalid')}{more}"


def facts(providers: Iterable[Any]) -> tuple[Calendar, date | None]:
    """The `Calendar` of every time of day at which a price in `providers` changes, and the latest date on
    which one starts."""
    cuts: set[int] = set()
    latest: date | None = None
    for constraint in _constraints(providers):
        start_date = getattr(constraint, "start_date", None)
        if isinstance(start_date, date):
            latest = start_date if latest is None else max(latest, start_date)
        for moment in (getattr(constraint, "start_time", None), getattr(constraint, "end_time", None)):
            if isinstance(moment, time):
                cut = _ns_after_midnight(moment)
                if cut:
                    cuts.add(cut)
    return Calendar(tuple(sorted(cuts))), latest


def _constraints(providers: Iterable[Any]) -> Iterator[Any]:
    for provider in providers:
        for model in provider.models:
            if isinstance(model.prices, list):
                yield from (price.constraint for price in model.prices if price.constraint is not None)
            yield from (variant.constraint for variant in model.price_variants or () if variant.constraint is not None)


def _ns_after_midnight(moment: time) -> int:
    """A time of day as nanoseconds after UTC midnight, read as genai-prices reads it (naive times are UTC)."""
    if moment.tzinfo is not None:
        moment = datetime.combine(date(1970, 1, 1), moment).astimezone(UTC).time()
    seconds = moment.hour * 3600 + moment.minute * 60 + moment.second
    return seconds * 10**9 + moment.microsecond * 1000


__all__ = [
    "BUNDLED",
    "DATA_DIR_ENV",
    "PRICES_DATA_ENV",
    "Calendar",
    "DataFileError",
    "PriceData",
    "Window",
    "bundled",
    "chosen_file",
    "data_dir",
    "default_file",
    "facts",
    "forget",
    "in_force",
    "read_file",
    "use_data_dir",
    "verify",
]
