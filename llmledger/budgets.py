# SPDX-License-Identifier: Apache-2.0
"""`llmledger.budgets`: the budgets API (`configure`, `add`, `status`, …) under its short name."""

from llmledger.instrumentation.budgets import *  # noqa: F403 - this module is an alias
from llmledger.instrumentation.budgets import __all__ as __all__
