# SPDX-License-Identifier: Apache-2.0
"""llmledger: LLM spend you can see and bound.

The everyday API, in one place::

    import llmledger

    llmledger.budgets.configure([llmledger.Budget("daily", llmledger.Scope(), llmledger.Window("day"), 5)])
    with llmledger.attributes(user_id="u-42", feature="search"):
        ...  # instrumented LLM calls here are attributed, and refused with llmledger.BudgetExceeded past $5 a day

The instrumentors live in ``llmledger.instrumentation.<provider>``, the collector in ``llmledger.collector``.
Importing this package loads no LLM SDK and no price data.
"""

from llmledger import budgets
from llmledger.instrumentation.attribution import attributes, bind
from llmledger.instrumentation.budgets import (
    Budget,
    BudgetExceeded,
    BudgetFile,
    BudgetFileError,
    BudgetWarning,
    Scope,
    Window,
)
from llmledger.instrumentation.version import __version__

__all__ = [
    "Budget",
    "BudgetExceeded",
    "BudgetFile",
    "BudgetFileError",
    "BudgetWarning",
    "Scope",
    "Window",
    "__version__",
    "attributes",
    "bind",
    "budgets",
]
