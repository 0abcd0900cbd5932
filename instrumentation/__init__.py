# SPDX-License-Identifier: Apache-2.0
"""llmledger instrumentation: OpenTelemetry GenAI spans with exact token usage and cost in USD.

Instrumentors are imported from their provider module (``llmledger.instrumentation.openai``) so that
importing this package loads no SDK and no price data.
"""

from llmledger.version import __version__

__all__ = ["__version__"]
