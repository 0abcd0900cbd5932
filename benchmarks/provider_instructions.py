# SPDX-License-Identifier: Apache-2.0
"""Instructions per isolated Anthropic or Google GenAI call, and per streamed chunk, counted by callgrind: the
figures of provider_overhead.py in a unit the machine's load barely moves.

    python benchmarks/provider_instructions.py [--provider anthropic|google|all] [--configs none,llmledger]
                                               [--calls N] [--streams N] [--python-calls]

As openai_instructions.py does for OpenAI: each count is a fresh interpreter under `valgrind --tool=callgrind`
running provider_overhead.py's workloads (its recorded responses, SDK clients and replay of decoded chunks; one
tracer and one meter provider of the SDK; Anthropic's own tracing on), and two counts that differ only in how many
operations ran give the instructions of one. Three counts a configuration: the warm-up's isolated calls and
`--streams` replayed streams; `--calls` more isolated calls (their difference: one isolated call, the SDK method
under the instrumentor's wrapper answering with a response parsed beforehand); the longer replayed stream in place
of the shorter (their difference over the chunks it adds: one chunk, the per-stream cost cancelled).
`none` makes no instrumentor; `llmledger` is whichever llmledger Python imports, so that with
`compare_revisions.py BASE -- /abs/path/benchmarks/provider_instructions.py --configs llmledger` this one copy of
the script (and of provider_overhead.py beside it) counts each revision's package. Needs valgrind and the bench
set's SDKs (`bash scripts/venv bench`).

`--python-calls` counts instead, with cProfile and no valgrind, the Python functions (and builtins) one isolated
call with llmledger runs, by function: set beside another revision's, it names what a change in the
instructions is made of.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
_WARM = 50  # isolated calls before the counted ones: imports, caches and the first span are paid by then
_OURS = {
    "anthropic": ("llmledger.instrumentation.anthropic", "AnthropicInstrumentor"),
    "google": ("llmledger.instrumentation.google_genai", "GoogleGenAIInstrumentor"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--provider", choices=("anthropic", "google", "all"), default="all")
    parser.add_argument("--configs", default="none,llmledger", help="comma-separated: none, llmledger")
    parser.add_argument("--calls", type=int, default=200, help="isolated calls counted, beyond the warm-up")
    parser.add_argument("--streams", type=int, default=20, help="replayed streams of each length counted")
    parser.add_argument("--python-calls", action="store_true", help="Python calls of one isolated call, by function")
    parser.add_argument("--inner", nargs=5, help=argparse.SUPPRESS)  # provider config calls stream streams
    args = parser.parse_args()
    if args.python_calls:
        for provider in ("anthropic", "google") if args.provider == "all" else (args.provider,):
            _python_calls(provider, args.calls)
        return
    if args.inner:
        provider, config, calls, stream, streams = args.inner
        _inner(provider, config, int(calls), stream, int(streams))
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian: apt-get install valgrind)")
    if "llmledger" in args.configs.split(","):
        import llmledger

        print(f"llmledger from {Path(llmledger.__file__).parent}")
    for provider in ("anthropic", "google") if args.provider == "all" else (args.provider,):
        print(f"{provider}: callgrind, {args.calls} isolated calls and {args.streams} replayed streams of each length")
        for config in args.configs.split(","):
            base = _run(provider, config, 0, "replay", args.streams)[0]
            calls = _run(provider, config, args.calls, "replay", args.streams)[0]
            longer, short_chunks, long_chunks = _run(provider, config, 0, "replay_long", args.streams)
            chunk = (longer - base) / (args.streams * (long_chunks - short_chunks))
            print(
                f"  {config:<10}{(calls - base) / args.calls:12,.0f} instructions per isolated call"
                f"{chunk:10,.0f} per replayed chunk ({short_chunks} and {long_chunks} chunks a stream)"
            )


def _run(provider: str, config: str, calls: int, stream: str, streams: int) -> tuple[int, int, int]:
    """Instructions callgrind counts for a fresh interpreter making the warm-up and `calls` isolated calls, then
    `streams` streams of `stream`; and the chunks a `replay` and a `replay_long` stream yield."""
    command = [
        "valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, str(Path(__file__)),
        "--inner", provider, config, str(calls), stream, str(streams),
    ]  # fmt: skip
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": "0", "TRACELOOP_TRACE_CONTENT": "false"},
        check=False,
    )
    found = re.search(r"Collected : (\d+)", done.stderr)
    chunks = re.search(r"^chunks (\d+) (\d+)$", done.stdout, re.MULTILINE)
    if done.returncode != 0 or found is None or chunks is None:
        raise SystemExit(f"no count for {provider} {config}:\n{done.stdout[-1000:]}{done.stderr[-3000:]}")
    return int(found.group(1)), int(chunks.group(1)), int(chunks.group(2))


def _workloads(provider: str, config: str) -> dict[str, Any]:
    """provider_overhead.py's workloads for `provider` by name, instrumented as `config` says."""
    sys.path.insert(0, str(HERE))
    import provider_overhead as bench
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(bench.CountingProcessor())
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    bench.install_anthropic_replay()
    bench.install_google_replay()
    made = bench.anthropic_workloads(tracer_provider, 1) if provider == "anthropic" else bench.google_workloads(1)
    loads = {w.name: w for w in made}
    if config == "llmledger":
        module, name = _OURS[provider]
        getattr(importlib.import_module(module), name)().instrument(
            tracer_provider=tracer_provider, meter_provider=meter_provider
        )
    elif config != "none":
        raise SystemExit(f"unknown configuration {config!r}")
    return loads


def _inner(provider: str, config: str, calls: int, stream: str, streams: int) -> None:
    loads = _workloads(provider, config)
    isolated = loads["call_isolated"]
    assert isolated.around is not None
    undo = isolated.around()  # the SDK method answers with the parsed response until undone
    for _ in range(_WARM + calls):
        isolated.run()
    undo()
    # Streams are not warmed up: every count makes the same number of them, so their first-time costs cancel.
    for _ in range(streams):
        loads[stream].run()
    print(f"chunks {loads['replay'].chunks} {loads['replay_long'].chunks}")


def _python_calls(provider: str, calls: int) -> None:
    """Print the Python calls of one isolated call with llmledger (the mean of `calls`), in all and by function."""
    import cProfile
    import pstats

    isolated = _workloads(provider, "llmledger")["call_isolated"]
    undo = isolated.around()
    for _ in range(_WARM):
        isolated.run()
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(calls):
        isolated.run()
    profile.disable()
    undo()
    counts = {
        f"{Path(file).name}:{function}" if file != "~" else function: made / calls
        for (file, _, function), (_, made, *_) in pstats.Stats(profile).stats.items()  # type: ignore[attr-defined]
    }
    print(f"{provider}: {sum(counts.values()):,.1f} Python calls an isolated call")
    for name, made in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        print(f"  {made:8.1f}  {name}")


if __name__ == "__main__":
    main()
