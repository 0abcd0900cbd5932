# SPDX-License-Identifier: Apache-2.0
"""The public surface is the instrumentor classes; importing the package loads no SDK and no price data."""

from __future__ import annotations

import llmledger
import llmledger.instrumentation
import llmledger.instrumentation.openai
from tests.instrumentation.imports import loaded_by


def test_exported_members():
    assert llmledger.instrumentation.__all__ == ["__version__"]
    assert llmledger.instrumentation.openai.__all__ == ["OpenAIInstrumentor"]


def test_importing_an_instrumentor_loads_neither_the_sdk_nor_prices_nor_budgets():
    heavy = ("openai", "genai_prices.data", "llmledger.instrumentation.budgets")
    assert loaded_by("llmledger.instrumentation.openai", *heavy) == []


def test_the_top_level_package_is_light_and_exports_the_everyday_api():
    assert loaded_by("llmledger", "openai", "anthropic", "google.genai", "genai_prices.data", "yaml") == []
    errors = ["BudgetExceeded", "BudgetFile", "BudgetFileError", "BudgetFileUnusable", "BudgetWarning"]
    assert llmledger.__all__ == ["Budget", *errors, "Scope", "Window", "__version__", "attributes", "bind", "budgets"]


def test_budgets_api_is_reachable_under_its_short_name():
    import llmledger.budgets
    import llmledger.instrumentation.budgets

    assert llmledger.budgets.__all__ == llmledger.instrumentation.budgets.__all__
    assert llmledger.budgets.configure is llmledger.instrumentation.budgets.configure
