# SPDX-License-Identifier: Apache-2.0
"""No budgets before and after each test; prices that make recorded calls expensive."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from llmledger import budgets
from llmledger._core import prices as _prices
from tests.instrumentation.budgets.support import PRICES


@pytest.fixture(autouse=True)
def no_budgets(monkeypatch) -> Iterator[None]:
    for name in ("LLMLEDGER_BUDGETS_FILE", "LLMLEDGER_BUDGETS_URL"):
        monkeypatch.delenv(name, raising=False)
    budgets.clear()
    yield
    budgets.clear()


@pytest.fixture
def expensive(monkeypatch, tmp_path: Path) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text(PRICES)
    monkeypatch.setenv("LLMLEDGER_PRICES_FILE", str(path))
    _prices.reload()
