# SPDX-License-Identifier: Apache-2.0
"""Instructions per isolated OpenAI call under each instrumentor, counted by callgrind: a figure the machine's
load cannot move.

    python benchmarks/openai_instructions.py [--calls N] [--configs none,official,llmledger]

Timings on a shared 2-core machine move by tens of percent between runs; an instruction count does not (the
same binary, inputs and hash seed give the same count). For each configuration, the script runs the isolated
call of openai_overhead.py (the SDK method under the instrumentor's wrapt wrapper answers with a recorded
response parsed once beforehand; the same tracer and meter providers) in a fresh interpreter under
`valgrind --tool=callgrind`, twice: with 100 calls and with 100 + N. The difference divided by N is the
instructions of one call, start-up and warm-up cancelled. Needs valgrind (Debian's `valgrind` package); takes
about a minute per run.
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

tracer_provider = TracerProvider()
tracer_provider.add_span_processor(bench.CountingProcessor())
meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
config = {{c.name: c for c in bench.configurations(tracer_provider, meter_provider)}}[{name!r}]
load = {{w.name: w for w in bench.workloads(quick=True)}}["call_isolated"]
config.instrument()
undo = load.around()
for _ in range({calls}):
    load.run()
"""


def instructions(name: str, calls: int) -> int:
    """Instructions callgrind counts for a fresh interpreter making `calls` isolated calls under `name`."""
    code = _CHILD.format(here=str(HERE), name=name, calls=calls)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=1000, help="calls counted, beyond the 100 of warm-up")
    parser.add_argument("--configs", default="none,official,llmledger", help="comma-separated configurations")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian: apt-get install valgrind)")
    per_call = {}
    for name in args.configs.split(","):
        per_call[name] = (instructions(name, _WARM + args.calls) - instructions(name, _WARM)) / args.calls
        print(f"  {name:<12}{per_call[name]:12,.0f} instructions per isolated call")
    base = per_call.get("none", 0.0)
    if "llmledger" in per_call:
        ours = per_call["llmledger"] - base
        for name, count in per_call.items():
            if name not in ("none", "llmledger"):
                print(f"  llmledger / {name}: {ours / (count - base):.3f} (overheads: each minus 'none')")


if __name__ == "__main__":
    main()
