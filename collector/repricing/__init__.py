# SPDX-License-Identifier: Apache-2.0
"""Costs after the fact: re-pricing stored calls, history re-costed on other models, and price changes noticed.

reprice        `Repricer`: stored calls costed again at the prices in force, each change a new row version,
               journaled so the rollups move by exactly the change, audited per run, resumable after a crash
whatif         `what_if`: spend of a period as if some models' calls had gone to other models, token for token
price_changes  `PriceWatch`: a change of the price of a model in use, logged and alerted once
"""

from .price_changes import PriceChange, PriceWatch, find_changes
from .reprice import ModelChange, Outcome, Repricer, Window
from .whatif import DIMENSIONS, Line, Swap, WhatIf, what_if

__all__ = [
    "DIMENSIONS",
    "Line",
    "ModelChange",
    "Outcome",
    "PriceChange",
    "PriceWatch",
    "Repricer",
    "Swap",
    "WhatIf",
    "Window",
    "find_changes",
    "what_if",
]
