# SPDX-License-Identifier: Apache-2.0
"""Budgets: USD limits per scope and window, and the budget file both the app and the collector read.

Importing this package loads no SDK and no price data.
"""

from .spec import DIMENSIONS, Action, Budget, BudgetFile, BudgetFileError, Scope, Window, load, parse

__all__ = ["DIMENSIONS", "Action", "Budget", "BudgetFile", "BudgetFileError", "Scope", "Window", "load", "parse"]
