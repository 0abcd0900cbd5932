# SPDX-License-Identifier: Apache-2.0
"""The budget file model, shared by the in-process enforcement and the collector's status view.

Both sides read the same file, so a budget means the same thing in the app that reserves against it and in the
collector that sums ClickHouse rows for it. Validation lives in the dataclasses' ``__post_init__`` (budgets built
in code are checked too); :func:`parse` only turns a YAML/JSON document into them and names the file and entry
when something is wrong.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import alert_settings

Action = Literal["log", "warn", "raise"]
WindowKind = Literal["day", "month", "rolling"]

DIMENSIONS = ("tenant", "service", "feature", "user", "model")

_ACTIONS: tuple[str, ...] = get_args(Action)
_KINDS: tuple[str, ...] = get_args(WindowKind)
_DEFAULT_ALERTS = (Decimal("0.5"), Decimal("0.8"), Decimal("1"))
_ROLLING = re.compile(r"^rolling\s*(\d+)\s*h$")
_BUDGET_KEYS = frozenset({"name", "scope", "window", "timezone", "limit_usd", "action", "per", "alerts"})
_FILE_KEYS = frozenset({"budgets", "webhook"}) | alert_settings.KEYS


class BudgetFileError(ValueError):
    """A budget file or entry that cannot be used; the message names the file and the entry."""


@dataclass(frozen=True, slots=True)
class Scope:
    """Which calls a budget covers: one glob per dimension (``fnmatch`` ``*`` and ``?``), ``"*"`` for any."""

    tenant: str = "*"
    service: str = "*"
    feature: str = "*"
    user: str = "*"
    model: str = "*"

    def __post_init__(self) -> None:
        for dim in DIMENSIONS:
            if not isinstance(getattr(self, dim), str):
                raise ValueError(f"scope.{dim} must be a string glob, got {getattr(self, dim)!r}")

    def matches(self, dims: Mapping[str, str]) -> bool:
        """A missing dimension is the empty string, which only ``"*"`` matches."""
        return all(
            pattern == "*" or fnmatch.fnmatchcase(dims.get(dim) or "", pattern)
            for dim in DIMENSIONS
            if (pattern := getattr(self, dim)) != "*"
        )

    def describe(self) -> str:
        """``tenant=acme user=*`` style text for messages; ``*`` when the scope covers everything."""
        parts = [f"{dim}={getattr(self, dim)}" for dim in DIMENSIONS if getattr(self, dim) != "*"]
        return " ".join(parts) or "*"


@dataclass(frozen=True, slots=True)
class Window:
    """A calendar day or month in a time zone, or the last ``hours`` hours."""

    kind: WindowKind
    hours: int = 0
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"window must be one of day, month, rolling <N>h; got {self.kind!r}")
        if self.kind == "rolling" and (not isinstance(self.hours, int) or self.hours <= 0):
            raise ValueError(f"a rolling window needs hours > 0, got {self.hours!r}")
        if self.kind != "rolling" and self.hours:
            raise ValueError(f"hours applies only to rolling windows, not to {self.kind!r}")
        _zone(self.timezone)

    def bounds(self, now: datetime) -> tuple[datetime, datetime]:
        """The window holding ``now`` as ``[start, end)`` in UTC; a naive ``now`` is taken as UTC.

        Calendar boundaries are local midnights converted through the zone, so a DST day is 23 or 25 hours
        long, and a midnight that does not exist (a spring-forward at 00:00) starts the day at the transition.
        """
        if now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
        now = now.astimezone(UTC)
        if self.kind == "rolling":
            return now - timedelta(hours=self.hours), now
        zone = _zone(self.timezone)
        local = now.astimezone(zone)
        if self.kind == "day":
            first = datetime(local.year, local.month, local.day)
            following = first + timedelta(days=1)
        else:
            first = datetime(local.year, local.month, 1)
            following = datetime(local.year + local.month // 12, local.month % 12 + 1, 1)
        return _local_to_utc(first, zone), _local_to_utc(following, zone)

    def describe(self) -> str:
        if self.kind == "rolling":
            return f"rolling {self.hours}h"
        return self.kind if self.timezone == "UTC" else f"{self.kind} ({self.timezone})"


@dataclass(frozen=True, slots=True)
class Budget:
    """A USD limit on the calls in ``scope`` during ``window``; ``per`` splits it into one pool per value."""

    name: str
    scope: Scope
    window: Window
    limit_usd: Decimal
    action: Action = "warn"
    per: tuple[str, ...] = ()
    alerts: tuple[Decimal, ...] = field(default=_DEFAULT_ALERTS)

    def __post_init__(self) -> None:
        # Frozen, so normalisation of friendly inputs (int limits, lists) goes through object.__setattr__.
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError("a budget needs a non-empty name")
        if not isinstance(self.scope, Scope) or not isinstance(self.window, Window):
            raise ValueError("scope must be a Scope and window a Window")
        limit = _decimal(self.limit_usd, "limit_usd")
        if limit < 0:
            raise ValueError(f"limit_usd must be >= 0, got {limit}")
        object.__setattr__(self, "limit_usd", limit)
        if self.action not in _ACTIONS:
            raise ValueError(f"action must be one of log, warn, raise; got {self.action!r}")
        per = (self.per,) if isinstance(self.per, str) else tuple(self.per)
        unknown = [dim for dim in per if dim not in DIMENSIONS]
        if unknown or len(set(per)) != len(per):
            raise ValueError(f"per must name distinct dimensions out of {', '.join(DIMENSIONS)}; got {list(per)}")
        object.__setattr__(self, "per", per)
        alerts = tuple(sorted({_decimal(a, "alerts") for a in self.alerts}))
        if any(a <= 0 for a in alerts):
            raise ValueError(f"alerts are fractions of the limit and must be > 0; got {[str(a) for a in alerts]}")
        object.__setattr__(self, "alerts", alerts)

    def key(self, dims: Mapping[str, str]) -> dict[str, str]:
        """The pool a call with ``dims`` draws from: its values of the ``per`` dimensions (``{}`` if none)."""
        return {dim: dims.get(dim) or "" for dim in self.per}


@dataclass(frozen=True, slots=True)
class BudgetFile:
    budgets: tuple[Budget, ...]
    webhook: str | None = None
    # slack, teams, email and spend_rate: where the collector sends alerts, and its spend-rate alert
    alerting: alert_settings.AlertSettings = field(default_factory=alert_settings.AlertSettings)

    def __post_init__(self) -> None:
        object.__setattr__(self, "budgets", tuple(self.budgets))
        names = [b.name for b in self.budgets]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"budget names must be unique; repeated: {', '.join(duplicates)}")
        if self.webhook is not None and not (
            isinstance(self.webhook, str) and self.webhook.startswith(("http://", "https://"))
        ):
            raise ValueError(f"webhook must be an http(s) URL, got {self.webhook!r}")


def parse(document: Mapping[str, Any], source: str) -> BudgetFile:
    """Build a :class:`BudgetFile` from a parsed YAML/JSON document; ``source`` names it in errors."""
    if not isinstance(document, Mapping):
        raise BudgetFileError(f"{source}: expected a mapping with a 'budgets' list, got {type(document).__name__}")
    unknown = sorted(set(document) - _FILE_KEYS)
    if unknown:
        raise BudgetFileError(f"{source}: unknown top-level key(s) {', '.join(map(str, unknown))}")
    entries = document.get("budgets")
    if not isinstance(entries, list):
        raise BudgetFileError(f"{source}: 'budgets' must be a list of budget entries")
    budgets = tuple(_parse_entry(entry, index, source) for index, entry in enumerate(entries))
    try:
        return BudgetFile(budgets=budgets, webhook=document.get("webhook"), alerting=alert_settings.parse(document))
    except ValueError as error:
        raise BudgetFileError(f"{source}: {error}") from None


def load(path: str | os.PathLike[str]) -> BudgetFile:
    """Read a budget file: JSON when it ends in ``.json``, YAML otherwise."""
    from . import documents

    source = os.fspath(path)
    try:
        text = Path(source).read_text(encoding="utf-8")
    except OSError as error:
        raise BudgetFileError(f"{source}: cannot read budget file: {error.strerror or error}") from None
    except UnicodeDecodeError as error:
        raise BudgetFileError(f"{source}, byte {error.start + 1}: not UTF-8 text") from None
    try:
        document = documents.parse(text, json_text=source.endswith(".json"))
    except documents.DocumentError as error:  # "line L, column C: not valid YAML: …"
        separator = ", " if str(error).startswith("line ") else ": "
        raise BudgetFileError(f"{source}{separator}{error}") from None
    return parse(document, source)


def _parse_entry(entry: Any, index: int, source: str) -> Budget:
    label = f"budgets[{index}]"
    if isinstance(entry, Mapping) and isinstance(entry.get("name"), str):
        label += f" ({entry['name']})"
    try:
        if not isinstance(entry, Mapping):
            raise ValueError(f"expected a mapping, got {type(entry).__name__}")
        unknown = sorted(map(str, set(entry) - _BUDGET_KEYS))
        if unknown:
            raise ValueError(f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(_BUDGET_KEYS))}")
        for required in ("name", "window", "limit_usd"):
            if required not in entry:
                raise ValueError(f"missing {required!r}")
        return Budget(
            name=entry["name"],
            scope=_parse_scope(entry.get("scope")),
            window=_parse_window(entry["window"], entry.get("timezone", "UTC")),
            limit_usd=entry["limit_usd"],
            action=entry.get("action", "warn"),
            per=_as_tuple(entry.get("per", []), "per"),
            alerts=_as_tuple(entry.get("alerts", list(_DEFAULT_ALERTS)), "alerts"),
        )
    except ValueError as error:
        raise BudgetFileError(f"{source}: {label}: {error}") from None


def _parse_scope(value: Any) -> Scope:
    if value is None:
        return Scope()
    if not isinstance(value, Mapping):
        raise ValueError(f"scope must be a mapping of {', '.join(DIMENSIONS)} to globs")
    unknown = sorted(map(str, set(value) - set(DIMENSIONS)))
    if unknown:
        raise ValueError(f"unknown scope dimension(s) {', '.join(unknown)}; allowed: {', '.join(DIMENSIONS)}")
    # YAML reads `user: 42` as an int; a scope value is always text.
    return Scope(**{dim: str(glob) for dim, glob in value.items()})


def _parse_window(value: Any, timezone: Any) -> Window:
    if not isinstance(timezone, str):
        raise ValueError(f"timezone must be an IANA name such as Europe/Berlin, got {timezone!r}")
    text = str(value).strip().lower()
    if text in ("day", "month"):
        return Window(kind=text, timezone=timezone)  # type: ignore[arg-type]
    rolling = _ROLLING.match(text)
    if rolling:
        return Window(kind="rolling", hours=int(rolling.group(1)), timezone=timezone)
    raise ValueError(f"window must be day, month or 'rolling <N>h' (e.g. rolling 24h); got {value!r}")


def _as_tuple(value: Any, name: str) -> tuple[Any, ...]:
    """A list in the file (or one string) as the tuple `Budget` holds; its items are checked there."""
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list):
        raise ValueError(f"{name} must be a list")
    return tuple(value)


def _decimal(value: Any, name: str) -> Decimal:
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number, got {value!r}")
    try:
        # str() keeps a YAML float such as 0.1 at its written value rather than its binary expansion.
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"{name} must be finite, got {value!r}")
    return number


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"unknown time zone {name!r}; use an IANA name such as Europe/Berlin") from None


def _local_to_utc(wall: datetime, zone: ZoneInfo) -> datetime:
    # fold=0 maps a wall time inside a spring-forward gap with the pre-transition offset, which lands on the
    # transition instant itself; an ambiguous midnight takes its first occurrence. Both start the day correctly.
    return wall.replace(tzinfo=zone).astimezone(UTC)
