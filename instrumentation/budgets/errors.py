# SPDX-License-Identifier: Apache-2.0
"""What an app sees when a budget trips: `BudgetExceeded` (action raise) or `BudgetWarning` (action warn), and
`BudgetFileUnusable` when the budget file cannot be used and may hold a raise budget."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from llmledger._core.budget_file import Budget


class BudgetExceeded(Exception):
    """A call refused before any request was sent, because it could take a budget over its limit.

    Deliberately not a subclass of any SDK error: retry logic written for provider errors must not retry it.
    """

    def __init__(
        self,
        budget: Budget,
        key: Mapping[str, str],
        window: tuple[datetime, datetime],
        spent: Decimal,
        reserved: Decimal,
        requested: Decimal,
    ) -> None:
        self.budget = budget
        self.key = dict(key)
        self.window = window
        self.spent = spent
        self.reserved = reserved
        self.requested = requested
        self.limit = budget.limit_usd
        super().__init__(_describe(self))


class BudgetFileUnusable(Exception):
    """A call refused before any request was sent, because ``LLMLEDGER_BUDGETS_FILE`` names a file that cannot be
    used (unreadable, bad YAML/JSON, a bad entry) and that may hold a budget whose action is raise.

    The message names the variable, the file and where in it the problem is; `path` is the file. Calls are refused
    until the file is fixed (it is looked at again every few seconds). Not a `BudgetExceeded`: no budget was
    reached, the budgets are unknown; nor a `ValueError`, which generic error handling might swallow.
    """

    def __init__(self, message: str, path: str) -> None:
        self.path = path
        super().__init__(message)


class BudgetWarning(UserWarning):
    """Issued (through `warnings`) when a call goes over a budget whose action is warn; the call proceeds."""


def _describe(refused: BudgetExceeded) -> str:
    budget = refused.budget
    # A used-up budget refuses even a call that reserves nothing, so the total may only reach the limit.
    over = ">" if refused.spent + refused.reserved + refused.requested > budget.limit_usd else ">="
    pool = " ".join(f"{dim}={value or '(none)'}" for dim, value in refused.key.items())
    zone = ZoneInfo(budget.window.timezone)
    start, end = (moment.astimezone(zone).isoformat(timespec="minutes") for moment in refused.window)
    return (
        f"budget {budget.name!r} [scope {budget.scope.describe()}{'; per ' + pool if pool else ''}; "
        f"{budget.window.describe()} {start} .. {end}]: spent ${usd(refused.spent)} + reserved "
        f"${usd(refused.reserved)} + this call up to ${usd(refused.requested)} {over} limit ${usd(budget.limit_usd)}"
    )


def usd(amount: Decimal) -> str:
    """Dollars to the micro-dollar, without trailing zeros: 0.0123, 250."""
    text = f"{amount.quantize(Decimal('0.000001')):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
