# SPDX-License-Identifier: Apache-2.0
"""What durability costs: `llmledger collector` ingest with the queue fsynced per batch vs on an interval.

    python benchmarks/collector_durability.py [--spans N] [--senders K] [--small-spans N] [--small-senders K]
                                              [--rounds R] [--time-limit S] [--baseline REV]

Two workloads, the requests serialized before the clock starts (see collector_ingest.py):
- large: 512 LLM spans per request (as an SDK's BatchSpanProcessor sends under load), `--senders` connections;
- small: 8 LLM spans per request from `--small-senders` connections, where a sync per acknowledgement would
  cost the most and group commit (one fsync shared by every request waiting for it) matters.

Each is run with `--queue-fsync batch` (the default: a request is acknowledged after its fsync) and
`--queue-fsync interval` (acknowledged once written to the OS, fsynced every second), timed from the first
request to every row queryable in `llm_calls`; "acknowledged at" is the rate at which the senders got their
200s. With `--baseline REV` (e.g. the commit before the queue) the collector of that revision, which held
requests in memory, runs the same loads too, from a `git archive` copy. One embedded ClickHouse serves all.
The variants take turns, `--rounds` times (the machine is shared: turns spread its noise over all of them),
and the median of each is compared.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from benchmarks.collector_ingest import SPANS_PER_REQUEST, build_requests, rows, timed
from llmledger.collector.exporters.clickhouse import migrations
from llmledger.collector.exporters.clickhouse.client import connect
from llmledger.collector.exporters.clickhouse.embedded import EmbeddedClickHouse
from tests.collector.running import start_collector

SMALL = 8  # spans per request of the small workload
_REPO = Path(__file__).resolve().parents[1]


def split(bodies: list[bytes], spans: int) -> list[bytes]:
    """The same spans re-cut into requests of `spans` each."""
    small = []
    for body in bodies:
        request = ExportTraceServiceRequest.FromString(body)
        scope = request.resource_spans[0].scope_spans[0]
        for first in range(0, len(scope.spans), spans):
            part = ExportTraceServiceRequest()
            part.resource_spans.add().CopyFrom(request.resource_spans[0])
            del part.resource_spans[0].scope_spans[0].spans[:]
            part.resource_spans[0].scope_spans[0].spans.extend(scope.spans[first : first + spans])
            small.append(part.SerializeToString())
    return small


def baseline_tree(revision: str, into: Path) -> dict[str, str]:
    """The environment that runs the collector of `revision`: its packages laid out as `llmledger.*`."""
    package = into / "llmledger"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    archive = subprocess.run(
        ["git", "-C", str(_REPO), "archive", revision, "collector", "instrumentation", "schemas"],
        check=True,
        capture_output=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(package)], input=archive, check=True)
    return {**os.environ, "PYTHONPATH": f"{into}{os.pathsep}{_REPO}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spans", type=int, default=102_400, help="spans per run (multiple of 512)")
    parser.add_argument("--senders", type=int, default=2, help="connections for 512-span requests")
    parser.add_argument("--small-spans", type=int, default=25_600, help="spans per run of 8-span requests")
    parser.add_argument("--small-senders", type=int, default=8, help="connections for 8-span requests")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each variant, taking turns")
    parser.add_argument("--time-limit", type=float, default=180, help="seconds per run at most")
    parser.add_argument("--baseline", metavar="REV", help="also run the in-memory collector of this revision")
    args = parser.parse_args()

    large = build_requests(args.spans)
    small = split(large[: args.small_spans // SPANS_PER_REQUEST], SMALL)
    workloads = [
        ("512 spans/request", large, args.senders, SPANS_PER_REQUEST),
        ("8 spans/request", small, args.small_senders, SMALL),
    ]
    with tempfile.TemporaryDirectory(prefix="llmledger-bench-") as tmp, EmbeddedClickHouse(Path(tmp) / "ch") as server:
        admin = connect(server.url)
        variants: list[tuple[str, list[str], dict[str, str]]] = [
            ("queue, fsync per batch", ["--queue-fsync", "batch"], dict(os.environ)),
            ("queue, fsync every 1 s", ["--queue-fsync", "interval"], dict(os.environ)),
        ]
        if args.baseline:
            variants.append((f"in memory ({args.baseline})", [], baseline_tree(args.baseline, Path(tmp) / "old")))
        print(f"ClickHouse {server.url}; {args.spans} LLM spans per run\n", flush=True)
        rates: dict[tuple[str, str], list[float]] = {}
        for workload, bodies, senders, spans in workloads:
            print(f"{workload}, {senders} senders:", flush=True)
            for _ in range(args.rounds):
                for variant, flags, env in variants:
                    database = f"bench_{sum(map(len, rates.values()))}"
                    migrations.apply(admin, database)
                    # the baseline knows no --queue-dir; a --data-dir keeps the test helper from adding one
                    where = "--queue-dir" if flags else "--data-dir"
                    collector = start_collector(
                        [
                            *("--clickhouse-url", server.url, "--database", database, "--batch-size", "10000"),
                            *(where, str(Path(tmp) / f"data-{database}"), *flags),
                        ],
                        env=env,
                    )
                    try:
                        rate = timed(
                            f"  {variant}",
                            bodies,
                            collector.http_port,
                            senders,
                            [rows(admin, f"SELECT count() FROM {database}.llm_calls")],
                            args.time_limit,
                            spans,
                        )
                    finally:
                        collector.stop()
                    rates.setdefault((workload, variant), []).append(rate)
                    admin.command(f"DROP DATABASE {database} SYNC")
            print(flush=True)
        admin.close()

    print(f"medians of {args.rounds} runs, LLM spans/s stored:")
    for workload, *_ in workloads:
        medians = {variant: statistics.median(rates[workload, variant]) for variant, *_ in variants}
        batch, interval = medians[variants[0][0]], medians[variants[1][0]]
        line = f"  {workload}: per batch {batch:,.0f}, interval {interval:,.0f} (ratio {batch / interval:.2f})"
        if args.baseline:
            memory = medians[variants[2][0]]
            line += f", in memory {memory:,.0f} (per batch / in memory {batch / memory:.2f})"
        print(line)


if __name__ == "__main__":
    main()
