# SPDX-License-Identifier: Apache-2.0
"""What a process does when ``LLMLEDGER_BUDGETS_FILE`` names a file it cannot use (unreadable, bad YAML/JSON, a bad
entry), read at the first instrumented call.

The rule: **fail closed when the file may hold a budget meant to stop calls.** If the file cannot be read at all,
or its text has the word ``raise`` anywhere (an ``action: raise`` budget, or a comment about one: we cannot tell
which), every instrumented call is refused before it is sent, with `BudgetFileUnusable` naming the variable, the
file and where in it the problem is. The user asked to be stopped past a limit; letting every call through
because of a typo would silently remove that stop, and the refusal says exactly what to fix. A file whose text
has no ``raise`` could only have warned or logged, so calls go ahead and the error is logged (level ERROR), as
the collector refuses to start on the same file.

Either way the error is logged once per version of the file, and the file is looked at again at most every two
seconds: once it is fixed (or the variable changes) its budgets apply from the next call, without a restart.
"""

from __future__ import annotations

import logging
import os
import re
import time
from dataclasses import dataclass, field

from llmledger._core.budget_file import BudgetFileError

from .errors import BudgetFileUnusable

_log = logging.getLogger("llmledger.budgets")

_RAISE = re.compile(r"\braise\b", re.IGNORECASE)
_CHECK_INTERVAL_NS = 2 * 10**9
Stamp = tuple[str, int, int] | None  # (path, mtime ns, size); None when the file cannot be looked at


@dataclass(slots=True)
class UnusableFile:
    """The file named by `variable` that could not be used, and whether calls are refused because of it."""

    variable: str
    path: str
    error: BudgetFileError
    refuses: bool
    stamp: Stamp
    checked_ns: int = field(default_factory=time.monotonic_ns)

    @classmethod
    def of(cls, variable: str, path: str, error: BudgetFileError) -> UnusableFile:
        """Decide for the file at `path` that failed with `error`, and log what happens now."""
        refuses = may_raise(path)
        unusable = cls(variable, path, error, refuses, _stamp(path))
        if refuses:
            _log.error(
                "llmledger: %s; it may hold a budget whose action is raise, so every LLM call is refused "
                "(BudgetFileUnusable) until the file is fixed",
                unusable.message,
            )
        else:
            _log.error(
                "llmledger: %s; no budget is enforced until the file is fixed (it has no raise budget, so calls "
                "go ahead)",
                unusable.message,
            )
        return unusable

    @property
    def message(self) -> str:
        return f"{self.variable}={self.error}"

    def changed(self) -> bool:
        """Whether the variable or the file changed since it was read; looked at most every two seconds."""
        now = time.monotonic_ns()
        if now - self.checked_ns < _CHECK_INTERVAL_NS:
            return False
        self.checked_ns = now
        path = os.environ.get(self.variable) or ""
        return path != self.path or _stamp(path) != self.stamp

    def refusal(self) -> BudgetFileUnusable:
        """A new exception for one refused call (a fresh one each time: a raised exception keeps its traceback)."""
        return BudgetFileUnusable(
            f"{self.message}; every LLM call is refused until the budget file is fixed, because it may hold a "
            "budget whose action is raise",
            path=self.path,
        )


def may_raise(path: str) -> bool:
    """Whether a file that cannot be used may hold a raise budget: True when it cannot be read, or its text has
    the word ``raise`` anywhere."""
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            text = file.read()
    except OSError:
        return True
    return _RAISE.search(text) is not None


def _stamp(path: str) -> Stamp:
    try:
        found = os.stat(path)
    except OSError:
        return None
    return (path, found.st_mtime_ns, found.st_size)


__all__ = ["UnusableFile", "may_raise"]
