# SPDX-License-Identifier: Apache-2.0
"""Instructions the collector spends taking a request in, per span, counted by valgrind's callgrind: the receiver's
decoding, the pipeline (extraction, de-duplication, the queue record) and the append to the durable queue, up to
but not including the store's work (no consumer runs, so nothing reaches ClickHouse).

    python benchmarks/ingest_instructions.py [--requests N] [--llm-share F]

collector_ingest.py times the whole collector against ClickHouse; this counts the part of it that is the
collector's own Python and C, in a unit the machine's load barely moves, so that two revisions compare side by side
(`compare_revisions.py BASE -- /abs/path/benchmarks/ingest_instructions.py`: this one copy of the script against
each revision's package). The requests are extract_instructions.py's (512 spans each, a share `--llm-share` of
them LLM calls, the rest HTTP and database spans); each is decoded as the HTTP receiver decodes a protobuf body
(`ExportTraceServiceRequest.FromString`) and handed with its bytes to `Pipeline.accept`. The queue is on disk,
fsynced at intervals: the kernel's work is not counted. It works with the layouts of both sides of the
restructure (`llmledger.collector.pipeline.pipeline` now; `llmledger.collector.pipeline`, `.queue` and `.store`
before).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SPANS_PER_REQUEST = 512


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=8, help="requests counted, beyond the one of warm-up")
    parser.add_argument("--llm-share", type=float, default=1.0, help="share of spans that are LLM calls [1.0]")
    parser.add_argument("--inner", nargs=2, type=int, metavar=("BUILT", "ACCEPTED"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        _inner(*args.inner, llm_share=args.llm_share)
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian: apt-get install valgrind)")
    import llmledger.collector

    built = args.requests + 1
    print(f"ingest of {Path(llmledger.collector.__file__).parent}")
    print(f"callgrind: {args.requests} requests of {SPANS_PER_REQUEST} spans, {args.llm_share:.0%} LLM calls")
    counts = [_instructions(built, accepted, args.llm_share) for accepted in (built, 1)]
    print(f"  instructions per span   {(counts[0] - counts[1]) / (args.requests * SPANS_PER_REQUEST):12,.0f}")


def _instructions(built: int, accepted: int, llm_share: float) -> int:
    """Instructions callgrind counts on the main thread of a fresh interpreter building `built` requests and taking
    in the first `accepted` of them: two counts differing only in what was taken in give the cost of taking in
    alone. The main thread is where all of it runs (no consumer or extraction worker is started); other threads
    (OpenBLAS's, which the store's pre-import of numpy starts) spin for as long as the process runs, so their count
    follows the wall clock, not the code."""
    with tempfile.TemporaryDirectory(prefix="llmledger-callgrind-") as folder:
        out = Path(folder) / "callgrind.out"
        command = [
            "valgrind", "--tool=callgrind", "--separate-threads=yes", f"--callgrind-out-file={out}",
            sys.executable, str(Path(__file__)), "--inner", str(built), str(accepted), "--llm-share", str(llm_share),
        ]  # fmt: skip
        environment = {**os.environ, "PYTHONHASHSEED": "0", "OPENBLAS_NUM_THREADS": "1"}
        done = subprocess.run(command, capture_output=True, text=True, env=environment)
        main_thread = Path(f"{out}-01")
        found = re.search(r"^summary: (\d+)", main_thread.read_text(), re.MULTILINE) if main_thread.exists() else None
    if done.returncode != 0 or found is None:
        raise SystemExit(f"callgrind wrote no count:\n{done.stdout[-1000:]}{done.stderr[-3000:]}")
    return int(found.group(1))


def _pipeline(folder: Path) -> Any:
    """A pipeline over a fresh durable queue, with whichever layout this revision has; its consumers not started."""
    try:
        from llmledger.collector.exporters.clickhouse.writer import ClickHouseStore
        from llmledger.collector.pipeline.pipeline import Pipeline
        from llmledger.collector.pipeline.queue import DiskQueue
    except ImportError:  # before the collector was laid out along its data path
        from llmledger.collector.pipeline import Pipeline  # type: ignore[attr-defined,no-redef]
        from llmledger.collector.queue import DiskQueue  # type: ignore[import-not-found,no-redef]
        from llmledger.collector.store import ClickHouseStore  # type: ignore[import-not-found,no-redef]
    # The store is never reached: no consumer runs, so the client it would insert with is never made.
    return Pipeline(ClickHouseStore(None), DiskQueue(folder, fsync="interval"))  # type: ignore[arg-type]


def _inner(built: int, accepted: int, llm_share: float) -> None:
    sys.path.insert(0, str(HERE))
    from extract_instructions import _requests
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    bodies = _requests(built, llm_share)
    with tempfile.TemporaryDirectory(prefix="llmledger-ingest-") as folder:
        pipeline = _pipeline(Path(folder))
        for body in bodies[:accepted]:
            pipeline.accept(ExportTraceServiceRequest.FromString(body), body)
        pipeline.queue.close()


if __name__ == "__main__":
    main()
