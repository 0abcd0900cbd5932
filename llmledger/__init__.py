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

from __future__ import annotations

import importlib

from llmledger.version import __version__

TYPE_CHECKING = False  # not `typing.TYPE_CHECKING`: importing typing would add milliseconds to every app's start
if TYPE_CHECKING:
    from llmledger import budgets
    from llmledger.instrumentation.attribution import attributes, bind
    from llmledger.instrumentation.budgets import (
        Budget,
        BudgetExceeded,
        BudgetFile,
        BudgetFileError,
        BudgetFileUnusable,
        BudgetWarning,
        Scope,
        Window,
    )


# Loaded on first use (PEP 562): `import llmledger.instrumentation.openai` under `opentelemetry-instrument` imports
# this package first, and must not pay for the budgets machinery an app may never touch.
_LAZY = {
    "budgets": ("llmledger.budgets", None),
    "attributes": ("llmledger.instrumentation.attribution", "attributes"),
    "bind": ("llmledger.instrumentation.attribution", "bind"),
    **{
        name: ("llmledger.instrumentation.budgets", name)
        for name in (
            "Budget",
            "BudgetExceeded",
            "BudgetFile",
            "BudgetFileError",
            "BudgetFileUnusable",
            "BudgetWarning",
            "Scope",
            "Window",
        )
    },
}


def __getattr__(name: str) -> object:
    try:
        module_name, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'llmledger' has no attribute {name!r}") from None
    module = importlib.import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "Budget",
    "BudgetExceeded",
    "BudgetFile",
    "BudgetFileError",
    "BudgetFileUnusable",
    "BudgetWarning",
    "Scope",
    "Window",
    "__version__",
    "attributes",
    "bind",
    "budgets",
]
