# SPDX-License-Identifier: Apache-2.0
"""Instructions the collector spends extracting rows from a request, per span, counted by valgrind's callgrind.

    python benchmarks/extract_instructions.py [--requests N] [--llm-share F]

The collector's hot path — request bytes to `llm_calls` columns (`collector/extract`, with its C where built) —
counted rather than timed (as openai_instructions.py counts a call), so that two revisions compare on a loaded machine
(`compare_revisions.py BASE -- /abs/path/benchmarks/extract_instructions.py`: an absolute path runs this copy
against each revision's package). The requests are made here with the OpenTelemetry SDK, as an app's exporter
sends them: 512 spans each, a share `--llm-share` of them LLM calls carrying llmledger's attributes (tokens,
cache reads, model, provider, cost), the rest HTTP and database spans. It works with the extraction API of
both layouts (`Extractor().columns` now, `extract_columns` before the collector was laid out along its data path).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SPANS_PER_REQUEST = 512


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=8, help="requests counted, beyond the one of warm-up")
    parser.add_argument("--llm-share", type=float, default=1.0, help="share of spans that are LLM calls [1.0]")
    parser.add_argument("--inner", nargs=2, type=int, metavar=("BUILT", "EXTRACTED"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        _inner(*args.inner, llm_share=args.llm_share)
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian: apt-get install valgrind)")
    import llmledger.collector.extract as extract

    built = args.requests + 1
    print(f"extraction of {Path(extract.__file__).parent}")
    print(f"callgrind: {args.requests} requests of {SPANS_PER_REQUEST} spans, {args.llm_share:.0%} LLM calls")
    counts = [_instructions(built, extracted, args.llm_share) for extracted in (built, 1)]
    print(f"  instructions per span   {(counts[0] - counts[1]) / (args.requests * SPANS_PER_REQUEST):12,.0f}")


def _instructions(built: int, extracted: int, llm_share: float) -> int:
    """Instructions callgrind counts for a fresh interpreter building `built` requests and extracting the first
    `extracted` of them: two counts differing only in what was extracted give the cost of extraction alone."""
    command = [
        "valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, str(Path(__file__)),
        "--inner", str(built), str(extracted), "--llm-share", str(llm_share),
    ]  # fmt: skip
    done = subprocess.run(
        command, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"}, check=True
    )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise SystemExit(f"callgrind printed no count:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def _extractor() -> Callable[[bytes], Any]:
    """Request bytes → columns, with whichever API this revision has."""
    try:
        from llmledger.collector.extract import Extractor  # type: ignore[attr-defined]

        return Extractor().columns  # type: ignore[no-any-return]
    except ImportError:
        from llmledger.collector.extract import extract_columns  # type: ignore[attr-defined]

        return extract_columns  # type: ignore[no-any-return]


def _requests(count: int, llm_share: float) -> list[bytes]:
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import SpanKind

    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "support-bot", "deployment.environment": "p"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("bench")
    rng = random.Random(7)
    bodies = []
    for _ in range(count):
        exporter.clear()
        for index in range(SPANS_PER_REQUEST):
            if rng.random() < llm_share:
                with tracer.start_as_current_span("chat gpt-4o-mini", kind=SpanKind.CLIENT) as span:
                    inputs = rng.randint(50, 4000)
                    span.set_attributes(
                        {
                            "gen_ai.operation.name": "chat",
                            "gen_ai.provider.name": "openai",
                            "gen_ai.request.model": "gpt-4o-mini",
                            "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
                            "gen_ai.response.id": f"chatcmpl-{rng.getrandbits(64):x}",
                            "gen_ai.usage.input_tokens": inputs,
                            "gen_ai.usage.output_tokens": rng.randint(5, 800),
                            "gen_ai.usage.cache_read.input_tokens": inputs // 2 if index % 3 == 0 else 0,
                            "gen_ai.response.finish_reasons": ("stop",),
                            "server.address": "api.openai.com",
                            "server.port": 443,
                            "user.id": f"user-{rng.randint(1, 1000)}",
                        }
                    )
            else:
                name = "GET /api/orders/{id}" if index % 2 else "SELECT orders"
                with tracer.start_as_current_span(name, kind=SpanKind.SERVER) as span:
                    span.set_attributes(
                        {
                            "http.request.method": "GET",
                            "url.path": f"/api/orders/{rng.randint(1, 10**6)}",
                            "http.response.status_code": 200,
                            "server.address": "orders.internal",
                            "db.system.name": "postgresql",
                            "db.query.text": "SELECT * FROM orders WHERE id = $1",
                        }
                    )
        bodies.append(encode_spans(exporter.get_finished_spans()).SerializeToString())
    return bodies


def _inner(built: int, extracted: int, llm_share: float) -> None:
    extract = _extractor()
    for body in _requests(built, llm_share)[:extracted]:
        extract(body)


if __name__ == "__main__":
    main()
