# SPDX-License-Identifier: Apache-2.0
"""What the budget tests share: recorded calls priced to cost real money, and a clock they can move."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

NOT_FOUND = "openai/otel-contrib/openai-v2/test_chat_completion_404.yaml"
QUESTION = [{"role": "user", "content": "Say this is a test"}]

# Prices that make a recorded call cost real money, so a $1 limit is reached in a handful of calls:
# 12 input tokens x $1,000/M + 5 output tokens x $40,000/M = $0.212 per call (both recorded models). Asked with
# QUESTION and max_tokens=5, a call reserves $0.252 (52 estimated input tokens, 5 output).
PRICES = """
prices:
  - provider: openai
    model: "gpt-4*"
    input: 1000
    output: 40000
"""
CALL_COST = Decimal("0.212")
CALL_RESERVES = Decimal("0.252")
# Streamed, `stream` and the `stream_options` llmledger adds are 51 more bytes of arguments: 17 tokens, $0.017.
STREAM_RESERVES = Decimal("0.269")


class Clock:
    """A settable clock for windows; starts at noon UTC the day before Berlin springs forward."""

    def __init__(self, start: datetime = datetime(2026, 3, 28, 12, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)
