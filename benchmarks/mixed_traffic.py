# SPDX-License-Identifier: Apache-2.0
"""An app's whole trace traffic, 2 % of it LLM calls, through three front doors, side by side in one run.

    python benchmarks/mixed_traffic.py [--spans N] [--runs R] [--senders K] [--extract-workers W]
                                       [--time-limit S] [--only NAME ...]

Workload: OTLP/HTTP protobuf requests of 500 spans, as an app's SDK batches them: ten traces of 50 spans, each an
HTTP server span (the root), 8 HTTP client spans, 24 database spans, 16 internal spans and one LLM call (2 %),
with the semantic-convention attributes their instrumentations set (`http.*`, `url.*`, `db.*`, `code.*`,
`server.*`), grouped by instrumentation scope under one service resource. The LLM spans are those of
benchmarks/collector_ingest.py (`llm_span`). Requests are serialized before the clock starts and posted by K
sender threads over keep-alive connections (a 429/503 is retried after its Retry-After).

Pipelines, each forwarding everything over OTLP/gRPC (uncompressed, loopback) to the same discarding receiver (a
process of its own that counts the spans it gets):
1. `llmledger collector --forward grpc://…`: stores the LLM calls in the embedded ClickHouse (llm_calls and its
   rollups), acknowledges a request once it is fsync'd in its durable queue; timed until the receiver has every
   span and llm_calls every call;
2. the OpenTelemetry Collector built by scripts/build-peers (.cache/peers/otelcol): otlp receiver → batch →
   otlp_grpc exporter with its in-memory sending queue (the default);
3. the same with its persistent queue (file_storage extension + `sending_queue.storage`; file_storage's default
   `fsync: false`, so unlike llmledger's queue it acknowledges before the bytes are synced);
4. rotel (PyPI) → its OTLP exporter.
Others are timed until the receiver has every span. Each round runs every pipeline once, the order rotated each
round; figures are the median of R rounds.

The primary figure is CPU µs per span: user + system time (/proc/<pid>/stat) of every process of a pipeline
(llmledger: the collector, its extraction workers and the ClickHouse server; the others: their one process) over
the spans delivered. The machine is shared and loaded, which moves wall-clock throughput far more than CPU time per
span; spans/s is printed beside it. Sender and receiver CPU are printed apart and not counted in any pipeline.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from collector_ingest import _kv, llm_span, post_all, start_rotel
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from llmledger.collector.exporters.clickhouse import migrations
from llmledger.collector.exporters.clickhouse.client import connect
from llmledger.collector.exporters.clickhouse.embedded import EmbeddedClickHouse, free_port
from tests.collector.peers.peers import PEERS, Peer, start_peer
from tests.collector.running import start_collector

TRACES_PER_REQUEST = 10
# Per trace: the server span, then its children by kind (the LLM call is the 50th span: 2 %).
CHILDREN = (("http_client", 8), ("db", 24), ("internal", 16), ("llm", 1))
SPANS_PER_TRACE = 1 + sum(count for _, count in CHILDREN)
SPANS_PER_REQUEST = TRACES_PER_REQUEST * SPANS_PER_TRACE
LLM_PER_REQUEST = TRACES_PER_REQUEST
SCOPES = {
    "http_server": "opentelemetry.instrumentation.fastapi",
    "http_client": "opentelemetry.instrumentation.httpx",
    "db": "opentelemetry.instrumentation.psycopg",
    "internal": "checkout-service",
    "llm": "llmledger.instrumentation.openai",
}
_ROUTES = ("/api/orders/{order_id}", "/api/cart", "/api/users/{user_id}/profile", "/api/search", "/healthz")
_HOSTS = ("payments.internal", "inventory.internal", "auth.internal", "api.stripe.com")
_TABLES = ("orders", "order_items", "users", "products", "inventory", "sessions")
_FUNCTIONS = ("price_cart", "apply_discounts", "render_summary", "load_user", "check_stock", "serialize")


def _server_span(rng: random.Random, trace_id: bytes, start: int) -> Span:
    route = rng.choice(_ROUTES)
    method = "GET" if rng.random() < 0.7 else "POST"
    status = 200 if rng.random() < 0.97 else 500
    path = route.replace("{order_id}", str(rng.randint(1, 10**6))).replace("{user_id}", str(rng.randint(1, 10**5)))
    span = Span(
        trace_id=trace_id,
        span_id=rng.randbytes(8),
        name=f"{method} {route}",
        kind=Span.SPAN_KIND_SERVER,
        start_time_unix_nano=start,
        end_time_unix_nano=start + rng.randint(5, 3000) * 10**6,
        status=Status(code=Status.STATUS_CODE_ERROR if status >= 500 else Status.STATUS_CODE_UNSET),
    )
    span.attributes.extend(
        [
            _kv("http.request.method", method),
            _kv("url.scheme", "https"),
            _kv("url.path", path),
            _kv("http.route", route),
            _kv("http.response.status_code", status),
            _kv("server.address", "shop.example.com"),
            _kv("server.port", 443),
            _kv("network.protocol.version", "1.1"),
            _kv("client.address", f"10.0.{rng.randint(0, 255)}.{rng.randint(1, 254)}"),
            _kv("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0"),
        ]
    )
    return span


def _child_span(kind: str, rng: random.Random, trace_id: bytes, parent: bytes, start: int) -> Span:
    span = Span(
        trace_id=trace_id,
        span_id=rng.randbytes(8),
        parent_span_id=parent,
        start_time_unix_nano=start,
        end_time_unix_nano=start + rng.randint(100, 50_000) * 10**3,
    )
    if kind == "http_client":
        host = rng.choice(_HOSTS)
        span.name, span.kind = "POST", Span.SPAN_KIND_CLIENT
        attributes = [
            _kv("http.request.method", "POST"),
            _kv("url.full", f"https://{host}/v2/{rng.choice(_TABLES)}/{rng.randint(1, 10**6)}"),
            _kv("server.address", host),
            _kv("server.port", 443),
            _kv("http.response.status_code", 200),
            _kv("network.protocol.version", "1.1"),
        ]
    elif kind == "db":
        table = rng.choice(_TABLES)
        operation = rng.choice(("SELECT", "SELECT", "SELECT", "INSERT", "UPDATE"))
        span.name, span.kind = f"{operation} {table}", Span.SPAN_KIND_CLIENT
        attributes = [
            _kv("db.system.name", "postgresql"),
            _kv("db.namespace", "shop"),
            _kv("db.operation.name", operation),
            _kv("db.collection.name", table),
            _kv("db.query.text", f"{operation} * FROM {table} WHERE id = $1 AND tenant_id = $2 LIMIT 50"),
            _kv("server.address", "db-primary.internal"),
            _kv("server.port", 5432),
        ]
    else:
        function = rng.choice(_FUNCTIONS)
        span.name, span.kind = function, Span.SPAN_KIND_INTERNAL
        attributes = [
            _kv("code.function.name", f"shop.checkout.{function}"),
            _kv("code.file.path", "/app/shop/checkout.py"),
            _kv("code.line.number", rng.randint(10, 900)),
            _kv("app.cart.items", rng.randint(1, 20)),
        ]
    span.attributes.extend(attributes)
    return span


def build_requests(total_spans: int, seed: int = 11) -> list[bytes]:
    """`total_spans` (rounded down to whole requests) as serialized OTLP requests of the mix the module names."""
    rng = random.Random(seed)
    now = time.time_ns()
    bodies = []
    for _ in range(total_spans // SPANS_PER_REQUEST):
        request = ExportTraceServiceRequest()
        resource_spans = request.resource_spans.add()
        resource_spans.resource.attributes.extend(
            [
                _kv("service.name", "checkout"),
                _kv("service.version", "2.14.1"),
                _kv("deployment.environment.name", "prod"),
                _kv("host.name", "checkout-7f9c6d5b8-x2x4q"),
                _kv("telemetry.sdk.language", "python"),
                _kv("telemetry.sdk.name", "opentelemetry"),
                _kv("telemetry.sdk.version", "1.39.0"),
            ]
        )
        by_scope: dict[str, list[Span]] = {kind: [] for kind in SCOPES}
        for _ in range(TRACES_PER_REQUEST):
            trace_id = rng.randbytes(16)
            start = now - rng.randint(0, 3600) * 10**9
            root = _server_span(rng, trace_id, start)
            by_scope["http_server"].append(root)
            for kind, count in CHILDREN:
                for _ in range(count):
                    if kind == "llm":
                        span = llm_span(rng, now)
                        span.trace_id, span.parent_span_id = trace_id, root.span_id
                    else:
                        span = _child_span(kind, rng, trace_id, root.span_id, start + rng.randint(0, 10**9))
                    by_scope[kind].append(span)
        for kind, spans in by_scope.items():
            scope_spans = resource_spans.scope_spans.add()
            scope_spans.scope.name = SCOPES[kind]
            scope_spans.spans.extend(spans)
        bodies.append(request.SerializeToString())
    return bodies


# -- the discarding receiver ----------------------------------------------------------------------------------
def _receive(port: int, received: Any, ready: Any) -> None:
    """A process of its own: an OTLP/gRPC traces receiver that counts the spans of each request into `received`
    and discards them."""
    import grpc

    def export(body: bytes, context: Any) -> bytes:
        request = ExportTraceServiceRequest.FromString(body)
        spans = sum(len(scope.spans) for resource in request.resource_spans for scope in resource.scope_spans)
        with received.get_lock():
            received.value += spans
        return b""  # an empty ExportTraceServiceResponse: full success

    handler = grpc.method_handlers_generic_handler(
        "opentelemetry.proto.collector.trace.v1.TraceService",
        {"Export": grpc.unary_unary_rpc_method_handler(export)},
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), options=[("grpc.max_receive_message_length", -1)])
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    ready.set()
    server.wait_for_termination()


@dataclass
class Sink:
    port: int
    process: multiprocessing.Process
    received: Any

    def count(self) -> int:
        return int(self.received.value)

    def reset(self) -> None:
        with self.received.get_lock():
            self.received.value = 0


def start_sink() -> Sink:
    context = multiprocessing.get_context("spawn")
    port, received, ready = free_port(), context.Value("q", 0), context.Event()
    process = context.Process(target=_receive, args=(port, received, ready), daemon=True)
    process.start()
    if not ready.wait(60):
        raise SystemExit("the discarding receiver did not start")
    return Sink(port, process, received)


# -- measuring ------------------------------------------------------------------------------------------------
def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process (all its threads) so far; 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (children, their children…)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
        for child in children:
            found += [child, *descendants(child)]
    return found


@dataclass
class Measure:
    """One pipeline in one round: spans delivered, seconds, and CPU seconds by process."""

    spans: int
    seconds: float
    cpu: dict[str, float]
    sender_cpu: float
    sink_cpu: float


@dataclass
class Pipeline:
    """A way in: `start()` → (the port senders post to, processes by name, the probes that say it is done)."""

    name: str
    start: Callable[[int], tuple[int, dict[str, int], list[Callable[[], int]], list[int], Callable[[], None]]]
    results: list[Measure] = field(default_factory=list)


def run_once(pipeline: Pipeline, bodies: list[bytes], sink: Sink, senders: int, limit: float) -> Measure:
    expected = len(bodies) * SPANS_PER_REQUEST
    sink.reset()
    port, processes, probes, targets, stop = pipeline.start(sink.port)
    try:
        for name, pid in list(processes.items()):
            for index, child in enumerate(descendants(pid)):
                processes[f"{name} child {index}"] = child
        before = {name: cpu_seconds(pid) for name, pid in processes.items()}
        sender_before, sink_before = cpu_seconds(os.getpid()), cpu_seconds(sink.process.pid or 0)
        started = time.monotonic()
        deadline = started + limit
        post_all(port, bodies, senders, deadline)
        counts = [expected] * len(probes)
        for index, probe in enumerate(probes):
            while time.monotonic() < deadline:
                counts[index] = probe()
                if counts[index] >= targets[index]:
                    break
                time.sleep(0.02)
        elapsed = time.monotonic() - started
        cpu = {name: cpu_seconds(pid) - before[name] for name, pid in processes.items()}
        sender_cpu = cpu_seconds(os.getpid()) - sender_before
        sink_cpu = cpu_seconds(sink.process.pid or 0) - sink_before
    finally:
        stop()
    delivered = min(sink.count(), expected)
    if any(count < target for count, target in zip(counts, targets, strict=True)):
        print(f"  {pipeline.name}: incomplete within {limit:.0f} s: {counts} of {targets}", flush=True)
    return Measure(delivered, elapsed, cpu, sender_cpu, sink_cpu)


def otelcol_config(directory: Path, persistent: bool) -> Path:
    queue = "\n    sending_queue:\n      storage: file_storage" if persistent else ""
    extensions = "\n  extensions: [file_storage]" if persistent else ""
    text = f"""receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:${{env:OTELCOL_GRPC_PORT}}
      http:
        endpoint: 127.0.0.1:${{env:OTELCOL_HTTP_PORT}}
processors:
  batch:
exporters:
  otlp_grpc:
    endpoint: 127.0.0.1:${{env:SINK_PORT}}
    compression: none
    tls:
      insecure: true{queue}
extensions:
  file_storage:
    directory: ${{env:OTELCOL_STORAGE_DIR}}
    create_directory: true
service:{extensions}
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [otlp_grpc]
  telemetry:
    metrics:
      level: none
"""
    path = directory / f"otelcol-{'persistent' if persistent else 'memory'}.yaml"
    path.write_text(text)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spans", type=int, default=200_000, help="spans per run (multiple of 500)")
    parser.add_argument("--runs", type=int, default=5, help="rounds (every pipeline once per round); medians shown")
    parser.add_argument("--senders", type=int, default=4, help="concurrent sender connections")
    parser.add_argument("--time-limit", type=float, default=300, help="seconds per run at most")
    parser.add_argument("--extract-workers", type=int, default=0, help="llmledger's --extract-workers [0]")
    parser.add_argument("--only", nargs="*", help="pipelines to run (llmledger, otelcol, otelcol-persistent, rotel)")
    args = parser.parse_args()

    otelcol = PEERS / "otelcol"
    if not os.access(otelcol, os.X_OK):
        raise SystemExit(f"{otelcol} is not built: run bash scripts/build-peers")
    print(f"building {args.spans // SPANS_PER_REQUEST} requests of {SPANS_PER_REQUEST} spans…", flush=True)
    bodies = build_requests(args.spans)
    total = len(bodies) * SPANS_PER_REQUEST
    size = sum(map(len, bodies)) / len(bodies)
    print(
        f"{total} spans per run ({len(bodies) * LLM_PER_REQUEST} LLM calls), {size / 1024:.0f} KiB a request, "
        f"{args.senders} senders, {args.runs} rounds",
        flush=True,
    )

    with tempfile.TemporaryDirectory(prefix="llmledger-mixed-") as tmp, EmbeddedClickHouse(Path(tmp) / "ch") as server:
        admin = connect(server.url)
        work = Path(tmp)
        runs = iter(range(10**6))

        def llmledger(sink_port: int) -> Any:
            database = f"mixed_{next(runs)}"
            migrations.apply(admin, database)
            collector = start_collector(
                [
                    *("--clickhouse-url", server.url, "--database", database),
                    *("--extract-workers", str(args.extract_workers)),
                    *("--forward", f"grpc://127.0.0.1:{sink_port}"),
                ]
            )
            calls = f"SELECT count() FROM {database}.llm_calls"
            probes = [sink_count, lambda: int(admin.command(calls))]
            processes = {"collector": collector.process.pid, "ClickHouse": server.pid or 0}
            return collector.http_port, processes, probes, [total, len(bodies) * LLM_PER_REQUEST], collector.stop

        def otelcol_pipeline(persistent: bool) -> Callable[[int], Any]:
            config = otelcol_config(work, persistent)

            def start(sink_port: int) -> Any:
                grpc_port, http_port = free_port(), free_port()
                storage = work / f"otelcol-storage-{next(runs)}"
                peer: Peer = start_peer(
                    otelcol,
                    config,
                    {"OTELCOL_GRPC_PORT": grpc_port, "OTELCOL_HTTP_PORT": http_port},
                    work / "otelcol.log",
                    env={"SINK_PORT": str(sink_port), "OTELCOL_STORAGE_DIR": str(storage)},
                )
                return http_port, {"otelcol": peer.process.pid}, [sink_count], [total], peer.stop

            return start

        def rotel(sink_port: int) -> Any:
            process, _, http_port = start_rotel(None, otlp_endpoint=f"http://127.0.0.1:{sink_port}")

            def stop() -> None:
                process.terminate()
                process.wait(10)

            return http_port, {"rotel": process.pid}, [sink_count], [total], stop

        pipelines = [
            Pipeline("llmledger collector (stores LLM calls, forwards all)", llmledger),
            Pipeline("OTel Collector, in-memory queue", otelcol_pipeline(False)),
            Pipeline("OTel Collector, persistent queue", otelcol_pipeline(True)),
            Pipeline("rotel", rotel),
        ]
        keys = ("llmledger", "otelcol", "otelcol-persistent", "rotel")
        if args.only:
            pipelines = [pipeline for key, pipeline in zip(keys, pipelines, strict=True) if key in args.only]
        sink = start_sink()
        sink_count = sink.count
        try:
            for round_index in range(args.runs):
                shift = round_index % len(pipelines)
                for pipeline in pipelines[shift:] + pipelines[:shift]:
                    measure = run_once(pipeline, bodies, sink, args.senders, args.time_limit)
                    pipeline.results.append(measure)
                    spent = sum(measure.cpu.values()) / max(measure.spans, 1) * 1e6
                    print(
                        f"  round {round_index + 1} {pipeline.name}: {measure.spans / measure.seconds:,.0f} spans/s, "
                        f"{spent:.2f} CPU µs/span",
                        flush=True,
                    )
        finally:
            sink.process.terminate()
            admin.close()
    report(pipelines)


def report(pipelines: list[Pipeline]) -> None:
    """Medians per pipeline: CPU µs per span (the primary figure) by process and in all, spans/s, and ratios."""
    print("\nmedian of the rounds; CPU µs per span is the primary figure (robust to the machine's load)\n")
    print(f"{'pipeline':<54} {'CPU µs/span (min–max)':>22} {'spans/s (min–max)':>24}   by process (µs/span)")
    summary: dict[str, tuple[float, float]] = {}
    for pipeline in pipelines:
        results = [measure for measure in pipeline.results if measure.spans]
        if not results:
            continue
        spent = [sum(m.cpu.values()) / m.spans * 1e6 for m in results]
        rates = [m.spans / m.seconds for m in results]
        per_span, rate = statistics.median(spent), statistics.median(rates)
        spread = f"{per_span:.2f} ({min(spent):.1f}–{max(spent):.1f})"
        rate_spread = f"{rate:,.0f} ({min(rates) / 1000:.0f}k–{max(rates) / 1000:.0f}k)"
        names = sorted({name for m in results for name in m.cpu})
        parts = ", ".join(
            f"{name} {statistics.median(m.cpu.get(name, 0) / m.spans * 1e6 for m in results):.2f}" for name in names
        )
        outside = (
            f"senders {statistics.median(m.sender_cpu / m.spans * 1e6 for m in results):.2f}, "
            f"receiver {statistics.median(m.sink_cpu / m.spans * 1e6 for m in results):.2f}"
        )
        print(f"{pipeline.name:<54} {spread:>22} {rate_spread:>24}   {parts}  (not counted: {outside})")
        summary[pipeline.name] = (per_span, rate)
    ours = next((value for name, value in summary.items() if name.startswith("llmledger")), None)
    if ours is None:
        return
    print("\nllmledger against each (CPU: theirs / ours, > 1 means llmledger spends less; spans/s: ours / theirs)")
    for name, (per_span, rate) in summary.items():
        if name.startswith("llmledger"):
            continue
        print(f"  vs {name:<40} CPU {per_span / ours[0]:.2f}×   spans/s {ours[1] / rate:.2f}×")


if __name__ == "__main__":
    main()
