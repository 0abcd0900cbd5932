# SPDX-License-Identifier: Apache-2.0
"""The budget check before every instrumented call, without loading budgets in apps that set none.

The budgets package (the file model, the ledger, the status poller) costs tens of milliseconds to import, and
most apps never use it. It installs its check here when imported: by `llmledger.budgets.configure(...)` in
code, or here, at the first instrumented call, when the environment names a budget file
(``LLMLEDGER_BUDGETS_FILE``), which budgets/enforcement.py reads at that same moment.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from typing import Any

_log = logging.getLogger(__name__)
FILE_ENV = "LLMLEDGER_BUDGETS_FILE"

Check = Callable[[Any, Mapping[str, Any]], None]


class _Gate:
    check: Check | None = None
    environment_read = False


def install(check: Check) -> None:
    """Called by budgets/enforcement.py on import: from then on every call passes `check`."""
    _Gate.check = check


def check(invocation: Any, arguments: Mapping[str, Any]) -> None:
    """Run the installed budget check; may raise `BudgetExceeded`, which is the policy's answer to the app."""
    installed = _Gate.check
    if installed is None:
        if _Gate.environment_read:
            return
        _Gate.environment_read = True
        if not os.environ.get(FILE_ENV):
            return
        try:
            from ..budgets import enforcement  # noqa: F401 - importing it installs its check
        except Exception:
            _log.warning("llmledger: budgets could not be loaded; calls go ahead unchecked", exc_info=True)
            return
        installed = _Gate.check
        if installed is None:
            return
    installed(invocation, arguments)
