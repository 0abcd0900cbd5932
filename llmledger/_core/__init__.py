# SPDX-License-Identifier: Apache-2.0
"""What the instrumentation and the collector share, and the one thing both depend on (never on each other).

- `attributes`: the span attribute contract: the names a span carries and the collector reads.
- `usage`: token usage in the contract's inclusive model.
- `prices`: which price applies to a call at its instant (the user's price file first, then genai-prices' data).
- `price_data`: which genai-prices data is in force (a refreshed data file or the bundled snapshot).
- `price_refresh` and `price_explain`: `llmledger prices refresh` and `llmledger prices show`.
- `cost` and `integer_costs`: the cost arithmetic, in `Decimal` and in the collector's integer units.
- `budget_file`: the budget file model, enforced in-process and checked by the collector.
- `documents`: reading a YAML or JSON file with errors that name the file, line and column.

Internal: the public API is `llmledger`'s own `__init__`.
"""
