# SPDX-License-Identifier: Apache-2.0
"""Budgets in force in this process, and the check every instrumented call passes before it is sent.

The budgets in force are an `Enforcement`, the budget policy of the span lifecycle
(`instrumentation/_shared/budget_policy.py`): `configure`, `add` and `clear` put it in force explicitly, and the
lifecycle builds it from ``LLMLEDGER_BUDGETS_FILE`` with `from_file`; importing this module changes nothing.

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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from llmledger._core import attributes as attr
from llmledger._core.budget_file import Budget, BudgetFile, BudgetFileError, load

from .. import attribution
from .._shared import budget_policy
from . import _app_line
from ._estimate import DEFAULT_OUTPUT_TOKENS, worst_case
from ._ledger import Clock, Hold, Ledger, Overrun, PoolStatus
from ._remote import StatusPoller
from ._unusable import UnusableFile
from .errors import BudgetExceeded, BudgetWarning

if TYPE_CHECKING:  # the span lifecycle (and the OTel SDK behind it) stays out of `import llmledger.budgets`
    from .._shared.invocation import Invocation

__all__ = ["add", "clear", "configure", "refresh", "status"]

_log = logging.getLogger("llmledger.budgets")

FILE_ENV = budget_policy.FILE_ENV
URL_ENV = "LLMLEDGER_BUDGETS_URL"
POLL_ENV = "LLMLEDGER_BUDGETS_POLL_SECONDS"
LAG_ENV = "LLMLEDGER_BUDGETS_EXPORT_LAG_SECONDS"
MAX_TOKENS_ENV = "LLMLEDGER_BUDGETS_DEFAULT_MAX_TOKENS"
TOKEN_ENV = "LLMLEDGER_BUDGETS_TOKEN"

_configuring = threading.Lock()  # one change of the budgets in force at a time
_unpriced_logged: set[tuple[str, str | None]] = set()  # (provider, model) already logged as unpriced


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


class Enforcement:
    """The budgets in force: the budget policy every instrumented call passes before it is sent.

    `enforcer` holds the budgets, their ledger and the shared-status poller (None: no budgets); `unusable` is the
    environment's budget file when it could not be used, which refuses calls while it may hold a raise budget.
    """

    def __init__(self, enforcer: _Enforcer | None, unusable: UnusableFile | None = None) -> None:
        self.enforcer = enforcer
        self.unusable = unusable
        self._lock = threading.Lock()

    def check(self, invocation: Invocation, arguments: Mapping[str, Any]) -> Hold | None:
        """Reserve the worst case of the call `invocation` is about to send with `arguments`, or refuse it.

        Raises only `BudgetExceeded`, `BudgetFileUnusable`, or a `BudgetWarning` the app's warnings filter makes an
        error, after ending the invocation's span with it; any failure of our own is logged and lets the call through.
        """
        enforcer = self.enforcer if self.unusable is None else self._usable(invocation)
        if enforcer is None:
            return None
        try:
            request = invocation.request
            dims = dimensions(invocation)
            if not any(budget.scope.matches(dims) for budget in enforcer.ledger.budgets):
                return None  # nothing to reserve against: skip sizing the request
            estimate = worst_case(
                invocation.provider, request, arguments, time.time_ns(), enforcer.default_output_tokens
            )
            if estimate is None:
                _log_unpriced(invocation.provider, request.model)
                estimate = Decimal(0)
            hold = enforcer.ledger.reserve(dims, estimate)
        except BudgetExceeded as refused:
            invocation.finish(error=refused)
            raise
        except Exception:
            _log.debug("llmledger: budget check failed; the call goes ahead", exc_info=True)
            return None
        if hold is not None and hold.overruns:
            try:
                _report(invocation, hold.overruns)
            except Exception as error:  # a warnings filter made the BudgetWarning an error: the call is not sent
                hold.close(None)
                invocation.finish(error=error)
                raise
        return hold

    def stop(self) -> None:
        """Stop polling the shared status; the budgets are out of force."""
        _stop(self.enforcer)

    def _usable(self, invocation: Invocation) -> _Enforcer | None:
        """With the environment's budget file unusable: read it again if it changed, then refuse the call if it
        still may hold a raise budget (raising `BudgetFileUnusable`); else the budgets in force."""
        unusable = self.unusable
        if unusable is not None and unusable.changed():
            with self._lock:
                if self.unusable is unusable:  # no other thread read it again meanwhile
                    enforcer, self.unusable = _read(unusable.variable, os.environ.get(unusable.variable) or "")
                    if self.unusable is None:
                        _log.warning(
                            "llmledger: %s=%s is usable again; its budgets apply", unusable.variable, unusable.path
                        )
                        self.enforcer = _merged(self.enforcer, enforcer, unusable.variable)
            unusable = self.unusable
        if unusable is None or not unusable.refuses:
            return self.enforcer
        refused = unusable.refusal()
        invocation.finish(error=refused)
        raise refused


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
    options = _Options(status_url, poll_seconds, export_lag_seconds, default_output_tokens, now)
    with _configuring:
        # Budgets configured in code replace the environment's file, usable or not.
        _put_in_force(Enforcement(_build(chosen, options)))


def add(budget: Budget) -> None:
    """Add one budget to those in force (after reading ``LLMLEDGER_BUDGETS_FILE`` if nothing was configured)."""
    with _configuring:
        current = _in_force()
        if current is not None and current.enforcer is not None:
            current.enforcer.ledger.add(budget)
            return
        # An unusable budget file still refuses calls until it is fixed.
        unusable = current.unusable if current is not None else None
        _put_in_force(Enforcement(_build((budget,), _Options()), unusable))


def clear() -> None:
    """Remove every budget and stop polling; the next call reads the environment again."""
    with _configuring:
        _stop_policy(budget_policy.reset())
        _unpriced_logged.clear()


def refresh() -> bool:
    """Fetch the shared budget status now, e.g. at start-up; False if there is none or it failed (logged)."""
    enforcer = _enforcer()
    return enforcer is not None and enforcer.poller is not None and enforcer.poller.poll()


def status() -> list[PoolStatus]:
    """Every budget pool this process has used, with its window, spend (local and shared) and reservations."""
    enforcer = _enforcer()
    return enforcer.ledger.status() if enforcer is not None else []


def from_file(variable: str, path: str) -> Enforcement:
    """The budgets of the file at `path`, named by the environment variable `variable`, or what to do because it
    cannot be used. Called by `budget_policy.load_from_environment`, which puts the result in force."""
    return Enforcement(*_read(variable, path))


def dimensions(invocation: Invocation) -> dict[str, str]:
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


def _resource(invocation: Invocation) -> Mapping[str, Any]:
    for holder in (invocation.span, invocation.telemetry.tracer):
        attributes = getattr(getattr(holder, "resource", None), "attributes", None)
        if attributes:
            return attributes
    return {}


def _report(invocation: Invocation, overruns: list[Overrun]) -> None:
    invocation.span.set_attribute(attr.BUDGET_EXCEEDED, tuple(o.budget.name for o in overruns))
    for overrun in overruns:
        if not overrun.first:
            _log.debug("llmledger: over budget: %s", overrun.message)
        elif overrun.budget.action == "warn":
            _log.warning("llmledger: over budget: %s", overrun.message)
            _app_line.warn(overrun.message, BudgetWarning)
        else:
            _log.info("llmledger: over budget: %s", overrun.message)


def _log_unpriced(provider: str, model: str | None) -> None:
    if (provider, model) not in _unpriced_logged:
        _unpriced_logged.add((provider, model))
        _log.warning("llmledger: no price for %s model %r: its calls reserve $0 against budgets", provider, model)


def _in_force() -> Enforcement | None:
    """The budgets in force, read from the environment first if nothing was configured yet."""
    policy = budget_policy.in_force()
    return policy if isinstance(policy, Enforcement) else None


def _enforcer() -> _Enforcer | None:
    current = _in_force()
    return current.enforcer if current is not None else None


def _put_in_force(enforcement: Enforcement) -> None:
    _stop_policy(budget_policy.use(enforcement))


def _stop_policy(policy: budget_policy.BudgetPolicy | None) -> None:
    if isinstance(policy, Enforcement):
        policy.stop()


def _read(variable: str, path: str) -> tuple[_Enforcer | None, UnusableFile | None]:
    """The budgets of the file at `path` (none when `path` is empty), or what to do because it cannot be used."""
    if not path:
        return None, None
    try:
        budgets = load(path).budgets
    except BudgetFileError as error:
        return None, UnusableFile.of(variable, path, error)
    return _build(budgets, _Options()), None


def _merged(current: _Enforcer | None, read: _Enforcer | None, variable: str) -> _Enforcer | None:
    """The file's budgets (`read`) joined to those `add()` put in force meanwhile (`current`)."""
    if current is None or read is None:
        return read or current
    for budget in read.ledger.budgets:
        try:
            current.ledger.add(budget)
        except ValueError as error:  # a budget of that name was added in code: the one in code stays
            _log.warning("llmledger: %s=%s: %s; the one added in code stays", variable, os.environ.get(variable), error)
    _stop(read)
    return current


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
