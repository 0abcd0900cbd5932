# SPDX-License-Identifier: Apache-2.0
"""Shared budgets in the collector: the budget file evaluated against ClickHouse.

* `read_status(client, budget_file, now)` — spend, burn rate and projection of every budget in its current
  window (one row per `per` key), exact against `llm_calls`; `status_document()` is its JSON.
* `sync(client, budget_file)` — writes the file into `llm_budgets` and (re)creates the `llm_budget_status`
  view for SQL users.
* `AlertEvaluator` / `Webhook` — thresholds fire once per window, to the log and a JSON webhook.
* `BudgetMonitor` — the collector's loop: cached `GET /v1/budgets/status` and periodic alerts.

The budget file model itself is `llmledger._core.budget_file`, shared with the in-process enforcement.
"""

from .alerts import Alert, AlertEvaluator, Webhook
from .monitor import STATUS_PATH, BudgetMonitor
from .status import BudgetStatus, read_status, status_document, sync

__all__ = [
    "STATUS_PATH",
    "Alert",
    "AlertEvaluator",
    "BudgetMonitor",
    "BudgetStatus",
    "Webhook",
    "read_status",
    "status_document",
    "sync",
]
