# SPDX-License-Identifier: Apache-2.0
"""The instrumentation prices a call at the instant it started: the span's start time, which the collector also
prices a span at, so the two agree to the period.

A recorded DeepSeek stream (deepseek-chat, 12 tokens in, 89 out), served through the OpenAI SDK's real HTTP stack
with the instrumentation's clock set either side of DeepSeek's off-peak hours (genai-prices: 0.135 / 0.55 USD per
million tokens input / output from 16:30 to 00:30 UTC, 0.27 / 1.10 otherwise).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from llmledger.instrumentation._shared import invocation
from tests.instrumentation.openai import transport

STREAM = (
    "deepseek/openllmetry/openai/traces/test_streaming_with_api_usage/test_streaming_with_api_usage_capture.yaml",
    0,
)


class _Clock:
    """`time` as the invocation reads it, with wall-clock time fixed at one instant."""

    def __init__(self, unix_ns: int) -> None:
        self._unix_ns = unix_ns

    def time_ns(self) -> int:
        return self._unix_ns

    perf_counter_ns = staticmethod(time.perf_counter_ns)


def _ns(hour: int, minute: int) -> int:
    return int(datetime(2025, 7, 15, hour, minute, tzinfo=UTC).timestamp()) * 10**9


@pytest.mark.parametrize(
    ("started", "cost"),
    [
        (_ns(17, 0), 0.00005057),  # off-peak: 12 × 0.135 + 89 × 0.55 = 1.62 + 48.95 = 50.57 µUSD
        (_ns(16, 29), 0.00010114),  # peak: 12 × 0.27 + 89 × 1.10 = 3.24 + 97.9 = 101.14 µUSD
        (_ns(0, 29), 0.00005057),  # still off-peak: the window runs past midnight to 00:30
    ],
    ids=["off-peak", "peak", "after-midnight"],
)
def test_a_deepseek_call_is_priced_at_the_instant_it_started(started, cost, monkeypatch, instrumented, span_exporter):
    monkeypatch.setattr(invocation, "time", _Clock(started))
    client = transport.client(
        lambda request: transport.sse(transport.recorded_body(*STREAM)), "https://api.deepseek.com"
    )

    for _ in client.chat.completions.create(
        model="deepseek-chat", messages=[{"role": "user", "content": "Tell me a joke"}], stream=True
    ):
        pass

    (span,) = span_exporter.get_finished_spans()
    attrs = span.attributes
    assert span.start_time == started  # the instant the collector would price it at
    assert attrs["gen_ai.provider.name"] == "deepseek"
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (12, 89)
    assert attrs["gen_ai.usage.cost"] == pytest.approx(cost, rel=1e-12)
