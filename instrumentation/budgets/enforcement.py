# SPDX-License-Identifier: Apache-2.0
"""Budgets in force in this process, and the check every instrumented call passes before it is sent.

Configuration
-------------
In code: ``llmledger.budgets.configure([Budget(...)])`` or ``configure("budgets.yaml")``; ``add(Budget(...))``.
Otherwise, at the first instrumented call (never at import):

``LLMLEDGER_BUDGETS_FILE=budgets.yaml``
    the budget file (YAML or JSON; see ``spec``).
``LLMLEDGER_BUDGETS_URL=http://collector:4318/v1/budgets/status``
    the collector's budget status, polled so spend from other processes counts.
``LLMLEDGER_BUDGETS_TOKEN``
    the bearer token, when the collector requires one (``--auth-token``).
``LLMLEDGER_BUDGETS_POLL_SECONDS=30``
    how often to poll it.
``LLMLEDGER_BUDGETS_EXPORT_LAG_SECONDS=60``
    how long a settled call may take to show in the collector's status (span export + insert).
``LLMLEDGER_BUDGETS_DEFAULT_MAX_TOKENS=4096``
    output tokens assumed for a call that sets no ``max_tokens``.

Calls to a model with no known price reserve nothing and are logged once per model; they still count as
refused when a raise-budget they fall under is already used up.

A budget file that cannot be used (unreadable, bad YAML/JSON, a bad entry) fails closed when it may hold a
raise budget: every call is refused with ``BudgetFileUnusable`` until it is fixed (see ``_unusable``).
``configure()`` in code replaces it, like any budgets before.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from llmledger._core import attributes as attr
from llmledger._core.budget_file import Budget, BudgetFile, BudgetFileError, load

from .. import attribution
from .._shared import budget_gate
from ._estimate import DEFAULT_OUTPUT_TOKENS, worst_case
from ._ledger import Clock, Ledger, PoolStatus
from ._remote import StatusPoller
from ._unusable import UnusableFile
from .errors import BudgetExceeded, BudgetWarning

__all__ = ["add", "clear", "configure", "refresh", "status"]

_log = logging.getLogger("llmledger.budgets")

FILE_ENV = budget_gate.FILE_ENV
URL_ENV = "LLMLEDGER_BUDGETS_URL"
POLL_ENV = "LLMLEDGER_BUDGETS_POLL_SECONDS"
LAG_ENV = "LLMLEDGER_BUDGETS_EXPORT_LAG_SECONDS"
MAX_TOKENS_ENV = "LLMLEDGER_BUDGETS_DEFAULT_MAX_TOKENS"
TOKEN_ENV = "LLMLEDGER_BUDGETS_TOKEN"


@dataclass(slots=True)
class _Enforcer:
    ledger: Ledger
    default_output_tokens: int
    poller: StatusPoller | None


@dataclass(frozen=True, slots=True)
class _Options:
    """What `configure` was given; None falls back to the environment."""

    status_url: str | None = None
    poll_seconds: float | None = None
    export_lag_seconds: float | None = None
    default_output_tokens: int | None = None
    now: Clock | None = None


class _State:
    """What is in force; `loaded` is False until the environment was read or `configure` ran. `unusable`: the
    environment's budget file, when it could not be used."""

    lock = threading.Lock()
    enforcer: _Enforcer | None = None
    unusable: UnusableFile | None = None
    loaded = False
    unpriced_logged: set[tuple[str, str | None]] = set()  # noqa: RUF012 - one process-wide registry


def configure(
    budgets: Iterable[Budget] | BudgetFile | str | os.PathLike[str] | None = None,
    *,
    status_url: str | None = None,
    poll_seconds: float | None = None,
    export_lag_seconds: float | None = None,
    default_output_tokens: int | None = None,
    now: Clock | None = None,
) -> None:
    """Put `budgets` in force (replacing any before); a path is read as a budget file.

    Unset options fall back to the environment variables in the module docstring. ``now`` is the clock windows
    follow (default: the system clock in UTC).
    """
    if budgets is None:
        chosen: tuple[Budget, ...] = ()
    elif isinstance(budgets, BudgetFile):
        chosen = budgets.budgets
    elif isinstance(budgets, str | os.PathLike):
        chosen = load(budgets).budgets
    else:
        chosen = tuple(budgets)
    BudgetFile(chosen)  # the same checks as a file: unique names
    _install(chosen, _Options(status_url, poll_seconds, export_lag_seconds, default_output_tokens, now))


def add(budget: Budget) -> None:
    """Add one budget to those in force (after reading ``LLMLEDGER_BUDGETS_FILE`` if nothing was configured)."""
    enforcer = _enforcer()
    if enforcer is None:
        unusable = _State.unusable
        _install((budget,), _Options())
        _State.unusable = unusable  # an unusable budget file still refuses calls until it is fixed
    else:
        enforcer.ledger.add(budget)


def clear() -> None:
    """Remove every budget and stop polling; the next call reads the environment again."""
    with _State.lock:
        _stop(_State.enforcer)
        _State.enforcer = None
        _State.unusable = None
        _State.loaded = False
        _State.unpriced_logged.clear()


def refresh() -> bool:
    """Fetch the shared budget status now, e.g. at start-up; False if there is none or it failed (logged)."""
    enforcer = _enforcer()
    return enforcer is not None and enforcer.poller is not None and enforcer.poller.poll()


def status() -> list[PoolStatus]:
    """Every budget pool this process has used, with its window, spend (local and shared) and reservations."""
    enforcer = _enforcer()
    return enforcer.ledger.status() if enforcer is not None else []


def guard(invocation: Any, arguments: Mapping[str, Any]) -> None:
    """Reserve the worst case of the call `invocation` is about to send with `arguments`, or refuse it.

    Raises only `BudgetExceeded`, or `BudgetFileUnusable` (after ending the invocation's span with it); any failure
    of our own is logged and lets the call through.
    """
    enforcer = _State.enforcer if _State.loaded else _enforcer()
    if _State.unusable is not None:
        enforcer = _check_unusable_file(invocation)
    if enforcer is None:
        return
    try:
        request = invocation.request
        dims = dimensions(invocation)
        if not any(budget.scope.matches(dims) for budget in enforcer.ledger.budgets):
            return  # nothing to reserve against: skip sizing the request
        estimate = worst_case(invocation.provider, request, arguments, time.time_ns(), enforcer.default_output_tokens)
        if estimate is None:
            _log_unpriced(invocation.provider, request.model)
            estimate = Decimal(0)
        hold = enforcer.ledger.reserve(dims, estimate)
    except BudgetExceeded as refused:
        invocation.finish(error=refused)
        raise
    except Exception:
        _log.debug("llmledger: budget check failed; the call goes ahead", exc_info=True)
        return
    if hold is None:
        return
    invocation.budget = hold
    if hold.overruns:
        _report(invocation, hold.overruns)


def dimensions(invocation: Any) -> dict[str, str]:
    """The call's budget dimensions: its attribution, the resource's defaults, and the requested model.

    Read from the context and the tracer's resource rather than the span, which may not record (sampled out).
    """
    given = attribution.current()
    resource = _resource(invocation)
    return {
        "tenant": str(given.get(attr.TENANT) or resource.get(attr.TENANT) or resource.get("tenant.id") or ""),
        "service": str(resource.get("service.name") or ""),
        "feature": str(given.get(attr.FEATURE) or ""),
        "user": str(given.get(attr.USER_ID) or ""),
        "model": invocation.request.model or "",
    }


def _resource(invocation: Any) -> Mapping[str, Any]:
    for holder in (invocation.span, invocation.telemetry.tracer):
        attributes = getattr(getattr(holder, "resource", None), "attributes", None)
        if attributes:
            return attributes
    return {}


def _report(invocation: Any, overruns: list[Any]) -> None:
    invocation.span.set_attribute(attr.BUDGET_EXCEEDED, tuple(o.budget.name for o in overruns))
    for overrun in overruns:
        if not overrun.first:
            _log.debug("llmledger: over budget: %s", overrun.message)
        elif overrun.budget.action == "warn":
            _log.warning("llmledger: over budget: %s", overrun.message)
            # stacklevel 6: _report, guard, budget_gate.check, start, the wrapper, then the app's calling line.
            warnings.warn(overrun.message, BudgetWarning, stacklevel=6)
        else:
            _log.info("llmledger: over budget: %s", overrun.message)


def _log_unpriced(provider: str, model: str | None) -> None:
    if (provider, model) not in _State.unpriced_logged:
        _State.unpriced_logged.add((provider, model))
        _log.warning("llmledger: no price for %s model %r: its calls reserve $0 against budgets", provider, model)


def _enforcer() -> _Enforcer | None:
    if not _State.loaded:
        with _State.lock:
            if not _State.loaded:
                _State.enforcer, _State.unusable = _from_env()
                _State.loaded = True
    return _State.enforcer


def _from_env() -> tuple[_Enforcer | None, UnusableFile | None]:
    """The budgets of the environment's file, or what to do because it cannot be used."""
    path = os.environ.get(FILE_ENV)
    if not path:
        return None, None
    try:
        budgets = load(path).budgets
    except BudgetFileError as error:
        return None, UnusableFile.of(FILE_ENV, path, error)
    return _build(budgets, _Options()), None


def _check_unusable_file(invocation: Any) -> _Enforcer | None:
    """With the environment's budget file unusable: read it again if it changed, then refuse the call if it still
    may hold a raise budget (raising `BudgetFileUnusable`); else the enforcer in force."""
    unusable = _State.unusable
    if unusable is not None and unusable.changed():
        with _State.lock:
            if _State.unusable is unusable:  # no other thread read it again meanwhile
                enforcer, _State.unusable = _from_env()
                if _State.unusable is None:
                    _log.warning("llmledger: %s=%s is usable again; its budgets apply", FILE_ENV, unusable.path)
                    _State.enforcer = _merged(_State.enforcer, enforcer)
        unusable = _State.unusable
    if unusable is None or not unusable.refuses:
        return _State.enforcer
    refused = unusable.refusal()
    invocation.finish(error=refused)
    raise refused


def _merged(current: _Enforcer | None, read: _Enforcer | None) -> _Enforcer | None:
    """The file's budgets (`read`) joined to those `add()` put in force meanwhile (`current`)."""
    if current is None or read is None:
        return read or current
    for budget in read.ledger.budgets:
        try:
            current.ledger.add(budget)
        except ValueError as error:  # a budget of that name was added in code: the one in code stays
            _log.warning("llmledger: %s=%s: %s; the one added in code stays", FILE_ENV, os.environ.get(FILE_ENV), error)
    _stop(read)
    return current


def _install(budgets: tuple[Budget, ...], options: _Options) -> None:
    enforcer = _build(budgets, options)
    with _State.lock:
        _stop(_State.enforcer)
        _State.enforcer = enforcer
        _State.unusable = None  # budgets configured in code replace the environment's file, usable or not
        _State.loaded = True


def _build(budgets: tuple[Budget, ...], options: _Options) -> _Enforcer:
    url = options.status_url or os.environ.get(URL_ENV) or None
    interval = options.poll_seconds if options.poll_seconds is not None else _number(POLL_ENV, 30.0)
    lag = options.export_lag_seconds if options.export_lag_seconds is not None else _number(LAG_ENV, 60.0)
    poller = StatusPoller(url, interval, token=os.environ.get(TOKEN_ENV) or None) if url else None
    ledger = Ledger(
        budgets,
        options.now or _utc_now,
        remote=poller,
        export_lag=timedelta(seconds=lag),
        remote_horizon=timedelta(seconds=max(600.0, lag + 3 * interval)),
    )
    output = options.default_output_tokens or int(_number(MAX_TOKENS_ENV, DEFAULT_OUTPUT_TOKENS))
    if poller is not None:
        poller.start()
    return _Enforcer(ledger, output, poller)


def _stop(enforcer: _Enforcer | None) -> None:
    if enforcer is not None and enforcer.poller is not None:
        enforcer.poller.stop()


def _number(name: str, default: float) -> float:
    value = os.environ.get(name)
    if not value:
        return default
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if number <= 0:
        _log.warning("llmledger: ignoring %s=%r (expected a positive number); using %s", name, value, default)
        return default
    return number


def _utc_now() -> datetime:
    return datetime.now(UTC)


budget_gate.install(guard)
