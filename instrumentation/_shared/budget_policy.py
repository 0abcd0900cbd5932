# SPDX-License-Identifier: Apache-2.0
"""The budget policy every instrumented call passes before it is sent, and how the policy in force is chosen.

The span lifecycle (`wrapping.starter`) asks the policy in force to `check` each call before the SDK sends it; the
policy answers with a hold that the call's `Invocation` settles to the real cost when it finishes, or refuses the
call by raising. The policy is set explicitly, never by importing a module:

- in code, by ``llmledger.budgets.configure(...)``, ``add(...)`` and ``clear()``, which call `use` and `reset`;
- otherwise at the first instrumented call, by `load_from_environment`: when ``LLMLEDGER_BUDGETS_FILE`` names a
  file, the budgets package is loaded and builds the policy of that file.

The budgets package (the file model, the ledger, the status poller) adds to every start-up that imports it, and most
apps never use it, so an app that configures no budgets and names no budget file never imports it.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # the budgets package imports this module, and must not load the span lifecycle with it
    from .invocation import Hold, Invocation

_log = logging.getLogger(__name__)
FILE_ENV = "LLMLEDGER_BUDGETS_FILE"


class BudgetPolicy(Protocol):
    """What the span lifecycle needs of budgets: one check before each call."""

    def check(self, invocation: Invocation, arguments: Mapping[str, Any]) -> Hold | None:
        """Reserve what the call `invocation` is about to send with `arguments` may cost: the hold to settle when
        it finishes, or None when no budget applies. To refuse the call, end the invocation with the error and
        raise it (the one exception instrumentation raises into the app); never raise for a failure of its own.
        """
        ...


class _InForce:
    lock = threading.Lock()
    policy: BudgetPolicy | None = None
    chosen = False  # a policy was set in code, or the environment was read


def use(policy: BudgetPolicy | None) -> BudgetPolicy | None:
    """Put `policy` in force for every instrumented call from now on (None: no budgets); returns the one before."""
    with _InForce.lock:
        before, _InForce.policy = _InForce.policy, policy
        _InForce.chosen = True
    return before


def reset() -> BudgetPolicy | None:
    """No policy in force, and the next call reads the environment again; returns the policy that was in force."""
    with _InForce.lock:
        before, _InForce.policy = _InForce.policy, None
        _InForce.chosen = False
    return before


def in_force() -> BudgetPolicy | None:
    """The policy in force; read from the environment first if none was chosen yet."""
    if not _InForce.chosen:
        load_from_environment()
    return _InForce.policy


def check(invocation: Invocation, arguments: Mapping[str, Any]) -> Hold | None:
    """Pass the call through the policy in force: its hold, or None; raises when the policy refuses the call."""
    policy = _InForce.policy if _InForce.chosen else in_force()
    return None if policy is None else policy.check(invocation, arguments)


def load_from_environment() -> None:
    """Choose the policy of ``LLMLEDGER_BUDGETS_FILE`` unless one was chosen already; none when it is unset.

    A failure to load the budgets package is logged and leaves calls unchecked. A budget file that cannot be used
    is the budgets package's to answer: it may refuse every call (instrumentation/budgets/_unusable.py).
    """
    with _InForce.lock:
        if _InForce.chosen:
            return
        path = os.environ.get(FILE_ENV)
        policy = None
        if path:
            try:
                from ..budgets import enforcement

                policy = enforcement.from_file(FILE_ENV, path)
            except Exception:
                _log.warning("llmledger: budgets could not be loaded; calls go ahead unchecked", exc_info=True)
        _InForce.policy = policy
        _InForce.chosen = True
