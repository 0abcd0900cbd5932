# SPDX-License-Identifier: Apache-2.0
"""Instructions per isolated OpenAI call under each instrumentor, counted by callgrind: a figure the machine's
load barely moves.

    python benchmarks/openai_instructions.py [--calls N] [--configs none,official,llmledger] [--split]

Timings on a shared 2-core machine move by tens of percent between runs; an instruction count (the same
binary, inputs and hash seed) has moved by less than 1%, the uninstrumented call's included. For each
configuration, the script runs the isolated call of openai_overhead.py (the SDK method under the instrumentor's
wrapt wrapper answers with a recorded response parsed once beforehand; the same tracer and meter providers) in
a fresh interpreter under `valgrind --tool=callgrind`, twice: with 100 calls and with 100 + N. The difference
divided by N is the instructions of one call, start-up and warm-up cancelled. Needs valgrind (Debian's
`valgrind` package); takes about a minute per run.

`--split` also counts each instrumentor with the OpenTelemetry API's no-op tracer provider, meter provider, or
both in place of the SDK's, and prints where its instructions go: its own Python (both no-op), the SDK's span
(the SDK tracer alone added), the SDK's metric records (the SDK meter alone added), and what the two add only
together (exemplars: a histogram record samples one only when a recording span is in its context).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
_WARM = 100

_CHILD = """
import sys
sys.path.insert(0, {here!r})
import openai_overhead as bench
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.trace import NoOpTracerProvider

tracer_provider = TracerProvider()
tracer_provider.add_span_processor(bench.CountingProcessor())
meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
if {noop_tracer}:
    tracer_provider = NoOpTracerProvider()
if {noop_meter}:
    meter_provider = NoOpMeterProvider()
config = {{c.name: c for c in bench.configurations(tracer_provider, meter_provider)}}[{name!r}]
load = {{w.name: w for w in bench.workloads(quick=True)}}["call_isolated"]
config.instrument()
undo = load.around()
for _ in range({calls}):
    load.run()
"""


def instructions(name: str, calls: int, noop_tracer: bool = False, noop_meter: bool = False) -> int:
    """Instructions callgrind counts for a fresh interpreter making `calls` isolated calls under `name`."""
    code = _CHILD.format(here=str(HERE), name=name, calls=calls, noop_tracer=noop_tracer, noop_meter=noop_meter)
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": "0", "TRACELOOP_TRACE_CONTENT": "false"},
        check=True,
    )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise SystemExit(f"callgrind printed no count for {name}:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def per_call(name: str, calls: int, noop_tracer: bool = False, noop_meter: bool = False) -> float:
    counts = (instructions(name, n, noop_tracer, noop_meter) for n in (_WARM + calls, _WARM))
    return (next(counts) - next(counts)) / calls


def split(name: str, calls: int, full: float, none: float) -> None:
    """Print where `name`'s instructions per call go (see the module docstring)."""
    own = per_call(name, calls, noop_tracer=True, noop_meter=True)
    span = per_call(name, calls, noop_meter=True) - own
    metrics = per_call(name, calls, noop_tracer=True) - own
    print(
        f"  {name:<12}own Python {own - none:10,.0f}   SDK span {span:10,.0f}   SDK metrics {metrics:10,.0f}"
        f"   exemplars {full - own - span - metrics:8,.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=1000, help="calls counted, beyond the 100 of warm-up")
    parser.add_argument("--configs", default="none,official,llmledger", help="comma-separated configurations")
    parser.add_argument("--split", action="store_true", help="also count with no-op providers, and print the parts")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian: apt-get install valgrind)")
    counts = {}
    for name in args.configs.split(","):
        counts[name] = per_call(name, args.calls)
        print(f"  {name:<12}{counts[name]:12,.0f} instructions per isolated call")
    base = counts.get("none", 0.0)
    if "llmledger" in counts:
        ours = counts["llmledger"] - base
        for name, count in counts.items():
            if name not in ("none", "llmledger"):
                print(f"  llmledger / {name}: {ours / (count - base):.3f} (overheads: each minus 'none')")
    if args.split:
        print("Instructions per isolated call, by part:")
        for name, count in counts.items():
            if name != "none":
                split(name, args.calls, count, base)


if __name__ == "__main__":
    main()
