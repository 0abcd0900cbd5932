# SPDX-License-Identifier: Apache-2.0
"""Why every instrumentor costs more in a whole OpenAI call than isolated: the OpenTelemetry SDK runs cold.

    python benchmarks/openai_cold_cost.py [--rounds N]

`openai_overhead.py` times each instrumentor in a whole call (the real SDK builds the request and parses the
answer, ~1 ms) and isolated (the SDK's work taken out). Every instrumentor costs more in the first than in the
second. This script times, with the same method and in one run, wrappers that do a known part of an
instrumentor's job around `Completions.create`, so the difference can be attributed:

- ``passthrough``: a wrapt wrapper that only calls through;
- ``context``: the same, with a context attached around the call (the invalid span current);
- ``span_current``: an empty SDK span started before the call, current during it, ended after it;
- ``span_after``: an empty SDK span started and ended after the call, never current;
- ``llmledger`` and ``official``: the instrumentors themselves.

If the extra were work done only in whole calls, ``span_after`` would cost the same in both: it does exactly the
same thing after the call either way. It does not, so the extra is the same code running slower after the SDK's
own work has passed through the caches.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from collections.abc import Callable
from typing import Any

import openai
import wrapt
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider

sys.path.insert(0, os.path.dirname(__file__))
import openai_overhead as bench  # the sibling script: its workloads and its interleaved measure

Wrapper = Callable[[Callable[..., Any], Any, tuple[Any, ...], dict[str, Any]], Any]


def _wrappers(tracer: trace.Tracer) -> dict[str, Wrapper]:
    def passthrough(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return wrapped(*args, **kwargs)

    def context(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        token = otel_context.attach(trace.set_span_in_context(trace.INVALID_SPAN))
        try:
            return wrapped(*args, **kwargs)
        finally:
            otel_context.detach(token)

    def span_current(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        span = tracer.start_span("chat")
        token = otel_context.attach(trace.set_span_in_context(span))
        try:
            return wrapped(*args, **kwargs)
        finally:
            otel_context.detach(token)
            span.end()

    def span_after(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            return wrapped(*args, **kwargs)
        finally:
            tracer.start_span("chat").end()

    return {
        "passthrough": passthrough,
        "context": context,
        "span_current": span_current,
        "span_after": span_after,
    }


def configurations(tracer_provider: TracerProvider, meter_provider: MeterProvider) -> list[bench.Config]:
    owner = openai.resources.chat.completions.Completions
    original = owner.__dict__["create"]

    def wrapping(name: str, wrapper: Wrapper) -> bench.Config:
        return bench.Config(
            name,
            name,
            lambda: setattr(owner, "create", wrapt.FunctionWrapper(original, wrapper)),
            lambda: setattr(owner, "create", original),
        )

    tracer = tracer_provider.get_tracer("cold-cost")
    wrapped = [wrapping(name, wrapper) for name, wrapper in _wrappers(tracer).items()]
    instrumentors = [
        config
        for config in bench.configurations(tracer_provider, meter_provider)
        if config.name in ("none", "official", "llmledger")
    ]
    return [instrumentors[0], *wrapped, *instrumentors[1:]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=24)
    args = parser.parse_args()
    tracer_provider = TracerProvider()
    processor = bench.CountingProcessor()
    tracer_provider.add_span_processor(processor)
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    configs = configurations(tracer_provider, meter_provider)
    loads = [load for load in bench.workloads(quick=False) if load.name in ("call", "call_isolated")]
    bench.measure(configs, loads, args.rounds, processor)
    baseline = configs[0].results
    print(f"{args.rounds} rounds; overhead = instrumented - baseline, paired per round, median over rounds, µs")
    print(f"  {'':14s} {'whole call':>11s} {'isolated':>10s} {'extra':>8s}")
    for config in configs[1:]:
        whole, isolated = (
            statistics.median(x - y for x, y in zip(config.results[name], baseline[name], strict=True)) * 1e6
            for name in ("call", "call_isolated")
        )
        print(f"  {config.name:14s} {whole:11.1f} {isolated:10.1f} {whole - isolated:8.1f}")


if __name__ == "__main__":
    main()
