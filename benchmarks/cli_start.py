# SPDX-License-Identifier: Apache-2.0
"""`llmledger sql` and `llmledger report` as a user times them, process start included, beside `python -c pass`.

    python benchmarks/cli_start.py [--calls N] [--days D] [--runs R] [--keep DIR] [--commands-only]

Starts one embedded engine and fills `llm_calls` with N synthetic calls over the last D days (default 1 million
over 90) the way `cluster_queries.py` does (its `fill`: `INSERT … SELECT`, the views fill the rollups, then
`llm_calls` is merged). With `--keep DIR` the engine's data stays in DIR and a later run reuses it, inserting only
when it holds none. Then every command below runs R times, all of them in turn each round so the
machine's load falls on each alike, and the median and fastest wall time of each are printed (ms):

- `python -c pass` and `python -c "import llmledger"`: what any command costs before it does anything;
- `llmledger --help`;
- `llmledger sql "SELECT 1"`, by URL and against the running embedded server of the data directory (`--data-dir`,
  which checks the schema first);
- `llmledger sql --query total_spend`;
- `llmledger report` (the last 7 days), by URL.

Then each query the report asks, run alone R times over HTTP (median ms and rows returned), to show what bounds the
report's own time: the report asks them in two rounds, the queries of a round at once (not with
`--commands-only`, which also lets the script time the commands of an older revision checked out in its place).

The console script next to this Python (`bin/llmledger`) is run when there is one, as a user would run it.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cluster_queries import DATABASE, Layout, fill  # the benchmark next to this one

_EXECUTABLE = Path(sys.executable)


def llmledger() -> list[str]:
    script = _EXECUTABLE.parent / "llmledger"
    return [str(script)] if script.exists() else [sys.executable, "-m", "llmledger.collector.cli"]


def commands(url: str, data_dir: Path) -> dict[str, list[str]]:
    by_url = ["--clickhouse-url", url, "--database", DATABASE]
    embedded = ["--data-dir", str(data_dir), "--database", DATABASE]
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        'python -c "import llmledger"': [sys.executable, "-c", "import llmledger"],
        "llmledger --help": [*llmledger(), "--help"],
        'llmledger sql "SELECT 1" (URL)': [*llmledger(), "sql", "SELECT 1", *by_url],
        'llmledger sql "SELECT 1" (running embedded)': [*llmledger(), "sql", "SELECT 1", *embedded],
        "llmledger sql --query total_spend": [*llmledger(), "sql", "--query", "total_spend", *by_url],
        "llmledger report": [*llmledger(), "report", *by_url],
    }


def time_commands(named: dict[str, list[str]], runs: int) -> dict[str, list[float]]:
    """Milliseconds of each run of each command; a command that fails stops the benchmark with its error."""
    times: dict[str, list[float]] = {name: [] for name in named}
    for _ in range(runs):
        for name, command in named.items():
            start = time.perf_counter()
            result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
            elapsed = (time.perf_counter() - start) * 1000
            if result.returncode != 0:
                raise SystemExit(f"{name} failed ({result.returncode}): {result.stderr.strip()}")
            times[name].append(elapsed)
    return times


def report_queries(url: str, runs: int) -> list[tuple[str, float, int]]:
    """(the query's start, median ms, rows) of each query `llmledger report` asks for the last 7 days."""
    from llmledger.collector.commands import report
    from llmledger.collector.exporters.clickhouse.http_query import HttpQuery

    client = HttpQuery(url, database=DATABASE)
    params = {"since": 7 * 86400, "tenant": "", "limit": 10}
    found: list[tuple[str, float, int]] = []

    def ask(queries: Sequence[str]) -> list[Sequence[Sequence[object]]]:
        answers = []
        for sql in queries:
            times = []
            for _ in range(runs):
                start = time.perf_counter()
                rows = client.rows(sql, params)
                times.append((time.perf_counter() - start) * 1000)
            found.append((" ".join(sql.split())[:70], statistics.median(times), len(rows)))
            answers.append(rows)
        return answers

    arguments = argparse.Namespace(since="7d", tenant="", traces=10, jaeger_url=None)
    report.collect(ask, arguments, 7 * 86400)
    return found


def held_calls(layout: Layout) -> int:
    return int(layout.client.command(f"SELECT count() FROM {DATABASE}.llm_calls"))  # type: ignore[arg-type]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--keep", metavar="DIR", help="keep the engine's data in DIR and reuse it next time")
    parser.add_argument("--commands-only", action="store_true", help="time the commands, not the report's queries")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="llmledger-cli-start-") as scratch:
        base = Path(args.keep).expanduser() if args.keep else Path(scratch)
        base.mkdir(parents=True, exist_ok=True)
        layout = Layout("single", base)
        try:
            held = held_calls(layout)
            if 0 < held < args.calls:
                raise SystemExit(f"{base} holds {held:,} calls, fewer than {args.calls:,}: give an empty --keep DIR")
            if not held:
                seconds = fill(layout, args.calls, args.days)
                print(f"inserted {args.calls:,} calls over {args.days} days in {seconds:.0f} s", flush=True)
            else:
                print(f"reusing {held:,} calls in {base}", flush=True)
            times = time_commands(commands(layout.url, layout.nodes[0].data_dir), args.runs)
            queries = [] if args.commands_only else report_queries(layout.url, args.runs)
        finally:
            layout.stop()

    width = max(len(name) for name in times)
    scale = f"{args.calls:,} calls over {args.days} days"
    print(f"\n{'command':<{width}}  median ms  fastest ms  ({args.runs} runs; {scale})")
    for name, runs in times.items():
        print(f"{name:<{width}}  {statistics.median(runs):>9.0f}  {min(runs):>10.0f}")
    if queries:
        print(f"\nllmledger report's queries, each alone (median of {args.runs}):")
    for start, median, rows in queries:
        print(f"  {median:>6.0f} ms  {rows:>6} rows  {start}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
