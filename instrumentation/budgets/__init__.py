# SPDX-License-Identifier: Apache-2.0
"""Budgets: USD limits per scope and window, enforced before each LLM call, and the file that declares them.

The budget file model (`spec`) is shared with the collector's status view. Enforcement (`enforcement`) reserves
a call's worst-case cost before the SDK sends it and settles the real cost after. Importing this package loads
no SDK and no price data.
"""

from llmledger._core.budget_file import (
    DIMENSIONS,
    Action,
    Budget,
    BudgetFile,
    BudgetFileError,
    Scope,
    Window,
    load,
    parse,
)

from ._ledger import PoolStatus
from .enforcement import add, clear, configure, refresh, status
from .errors import BudgetExceeded, BudgetFileUnusable, BudgetWarning

__all__ = [
    "DIMENSIONS",
    "Action",
    "Budget",
    "BudgetExceeded",
    "BudgetFile",
    "BudgetFileError",
    "BudgetFileUnusable",
    "BudgetWarning",
    "PoolStatus",
    "Scope",
    "Window",
    "add",
    "clear",
    "configure",
    "load",
    "parse",
    "refresh",
    "status",
]
