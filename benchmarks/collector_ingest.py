# SPDX-License-Identifier: Apache-2.0
"""Sustained ingest of LLM spans: `llmledger collector` vs rotel, into the same loopback ClickHouse, in one run.

    python benchmarks/collector_ingest.py [--spans N] [--senders K] [--time-limit S] [--extract-workers W]
                                          [--reported-costs]

Workload: OTLP/HTTP protobuf, 512 LLM spans per request (semconv attributes as our instrumentation sets them:
operation, provider, request/response model, five token counts, finish reasons, server address, user, session;
a mix of priced models and cache reads), requests serialized before the clock starts and posted over
keep-alive connections by K sender threads. With `--reported-costs` each span also carries the cost attributes
llmledger's instrumentation adds (the cost, its breakdown and price provenance), so the collector keeps the
span's cost instead of pricing it: what it receives from apps that llmledger instruments. One ClickHouse (the
embedded chdb-core server) serves all runs.

Runs, each timed from the first request to the moment every row is queryable:
1. `llmledger collector --extract-workers W` (2 by default) → llm_calls with its rollup materialized views
   (rows counted in llm_calls);
2. the same with `--forward grpc://rotel` (rotel's ClickHouse exporter writes otel_traces): pass-through, timed
   until both llm_calls and rotel's otel_traces hold every span;
3. the same forwarding to a rotel that discards what it receives (its blackhole exporter): the collector's own
   pass-through, timed until llm_calls holds every span and the collector's `/metrics` count every request as
   forwarded;
4. rotel alone (OTLP/HTTP → its ClickHouse exporter → otel_traces), the same requests.

Loads are bounded in span count and time. The machine's two cores are shared by sender, collector, rotel and
ClickHouse, so figures are end-to-end system throughput, not per-core collector throughput.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from llmledger._core.cost import compute, price_of
from llmledger._core.usage import Usage
from llmledger.collector.exporters.clickhouse import migrations
from llmledger.collector.exporters.clickhouse.client import connect
from llmledger.collector.exporters.clickhouse.embedded import EmbeddedClickHouse, free_port
from tests.collector.running import Collector, rotel_binary, start_collector

SPANS_PER_REQUEST = 512
MODELS = [("openai", "gpt-4o-mini"), ("openai", "gpt-4o"), ("anthropic", "claude-3-5-sonnet-20241022")]


def _kv(key: str, value: object) -> KeyValue:
    if isinstance(value, str):
        return KeyValue(key=key, value=AnyValue(string_value=value))
    if isinstance(value, tuple):
        return KeyValue(
            key=key, value=AnyValue(array_value=ArrayValue(values=[AnyValue(string_value=v) for v in value]))
        )
    return KeyValue(key=key, value=AnyValue(int_value=int(value)))  # type: ignore[call-overload]


def _cost_attributes(provider: str, model: str, usage: Usage, start_ns: int) -> list[KeyValue]:
    """The cost attributes llmledger's instrumentation sets on a span of this call (README, "What each span says")."""
    price = price_of(provider, model, model, start_ns)
    if price is None:
        return [KeyValue(key="llmledger.cost.unpriced", value=AnyValue(bool_value=True))]
    cost = compute(price, usage)
    amounts = [
        ("gen_ai.usage.cost", cost.total),
        ("gen_ai.usage.cost.amount", cost.total),
        ("llmledger.cost.input", cost.input),
        ("llmledger.cost.cache_read", cost.cache_read),
        ("llmledger.cost.cache_write", cost.cache_write),
        ("llmledger.cost.output", cost.output),
    ]
    texts = [
        ("gen_ai.usage.cost.currency", "USD"),
        ("gen_ai.usage.cost.source", "local"),
        ("llmledger.price.source", price.source),
        ("llmledger.price.version", price.version),
        ("llmledger.price.model", price.model),
    ]
    return [KeyValue(key=key, value=AnyValue(double_value=float(amount))) for key, amount in amounts] + [
        _kv(key, value) for key, value in texts
    ]


def llm_span(rng: random.Random, now: int, reported_costs: bool = False) -> Span:
    """One LLM call's span as llmledger's instrumentation makes it (semconv GenAI attributes, a priced model, a
    cache read on about a third of calls), its ids and times drawn from `rng`; with `reported_costs`, also the cost
    attributes the instrumentation adds."""
    provider, model = rng.choice(MODELS)
    input_tokens = rng.randint(50, 5000)
    output_tokens = rng.randint(1, 800)
    cache_read = input_tokens // 2 if rng.random() < 0.3 else 0
    start = now - rng.randint(0, 3600) * 10**9
    span = Span(
        trace_id=rng.randbytes(16),
        span_id=rng.randbytes(8),
        name=f"chat {model}",
        kind=Span.SPAN_KIND_CLIENT,
        start_time_unix_nano=start,
        end_time_unix_nano=start + rng.randint(100, 5000) * 10**6,
    )
    span.attributes.extend(
        [
            _kv("gen_ai.operation.name", "chat"),
            _kv("gen_ai.provider.name", provider),
            _kv("gen_ai.request.model", model),
            _kv("gen_ai.response.model", model),
            _kv("gen_ai.response.id", f"resp-{rng.getrandbits(48):x}"),
            _kv("gen_ai.response.finish_reasons", ("stop",)),
            _kv("gen_ai.usage.input_tokens", input_tokens),
            _kv("gen_ai.usage.output_tokens", output_tokens),
            _kv("gen_ai.usage.cache_read.input_tokens", cache_read),
            _kv("gen_ai.usage.cache_creation.input_tokens", 0),
            _kv("gen_ai.usage.reasoning.output_tokens", 0),
            _kv("server.address", "api.openai.com"),
            _kv("server.port", 443),
            _kv("llmledger.user_id", f"user-{rng.randint(1, 500)}"),
            _kv("llmledger.session_id", f"session-{rng.randint(1, 2000)}"),
        ]
    )
    if reported_costs:
        usage = Usage(input_tokens, output_tokens, cache_read, 0, None, 0)
        span.attributes.extend(_cost_attributes(provider, model, usage, start))
    return span


def build_requests(total_spans: int, seed: int = 7, reported_costs: bool = False) -> list[bytes]:
    rng = random.Random(seed)
    now = time.time_ns()
    bodies = []
    for _ in range(total_spans // SPANS_PER_REQUEST):
        request = ExportTraceServiceRequest()
        resource_spans = request.resource_spans.add()
        resource_spans.resource.attributes.extend(
            [_kv("service.name", "bench-bot"), _kv("deployment.environment.name", "prod")]
        )
        scope_spans = resource_spans.scope_spans.add()
        scope_spans.scope.name = "llmledger.instrumentation.openai"
        scope_spans.spans.extend(llm_span(rng, now, reported_costs) for _ in range(SPANS_PER_REQUEST))
        bodies.append(request.SerializeToString())
    return bodies


def post_all(port: int, bodies: list[bytes], senders: int, deadline: float) -> None:
    """Post every body to 127.0.0.1:port/v1/traces from `senders` keep-alive connections; 200s required."""
    chunks = [bodies[index::senders] for index in range(senders)]
    errors: list[str] = []

    def send(chunk: list[bytes]) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {"Content-Type": "application/x-protobuf"}
        for body in chunk:
            while time.monotonic() < deadline:
                connection.request("POST", "/v1/traces", body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                if response.status == 200:
                    break
                if response.status not in (429, 503):
                    errors.append(f"HTTP {response.status}")
                    return
                time.sleep(float(response.getheader("Retry-After") or 1))
        connection.close()

    threads = [threading.Thread(target=send, args=(chunk,)) for chunk in chunks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(f"senders failed: {errors[:3]}")


def rows(client: object, query: str) -> Callable[[], int]:
    """A probe counting what `query` finds."""
    return lambda: int(client.command(query))  # type: ignore[attr-defined]


def forwarded_spans(collector_http_port: int) -> Callable[[], int]:
    """A probe counting the spans the collector has forwarded (its `/metrics`: requests, 512 spans each)."""
    url = f"http://127.0.0.1:{collector_http_port}/metrics"
    name = "llmledger_collector_forwarded_requests_total"

    def probe() -> int:
        with urllib.request.urlopen(url, timeout=10) as response:
            text = response.read().decode()
        sent = [line.split()[1] for line in text.splitlines() if line.startswith(name + " ")]
        return int(float(sent[0])) * SPANS_PER_REQUEST if sent else 0

    return probe


def wait_for_count(probe: Callable[[], int], expected: int, deadline: float) -> int:
    count = 0
    while time.monotonic() < deadline:
        count = probe()
        if count >= expected:
            break
        time.sleep(0.05)
    return count


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of one process so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


_SERVER_EVENTS = (
    "InsertedRows",
    "InsertQueryTimeMicroseconds",
    "Merge",
    "MergedRows",
    "MergeTotalMilliseconds",
    "MergesTimeMilliseconds",
    "UserTimeMicroseconds",
    "SystemTimeMicroseconds",
)


def _server_events(client: object) -> dict[str, int]:
    rows = client.query("SELECT event, value FROM system.events").result_rows  # type: ignore[attr-defined]
    return {name: int(value) for name, value in rows}


def _print_server_work(client: object, before: dict[str, int], spans: int) -> None:
    """What ClickHouse's own counters say it did during the first run: inserted rows (all tables, views included),
    background merges and the time they took, per span stored."""
    after = _server_events(client)
    spent = {name: after.get(name, 0) - before.get(name, 0) for name in _SERVER_EVENTS if name in after}
    print("    ClickHouse per span: " + ", ".join(f"{name} {value / spans:.3g}" for name, value in spent.items()))


def timed(
    label: str,
    bodies: list[bytes],
    port: int,
    senders: int,
    probes: list[Callable[[], int]],
    limit: float,
    spans_per_request: int = SPANS_PER_REQUEST,
    cpu_of: dict[str, int] | None = None,
) -> float:
    """Post `bodies` and wait for the rows; with `cpu_of` (name → pid), also the CPU each process (and each child
    process of "collector": its extraction workers) spent per span meanwhile."""
    expected = len(bodies) * spans_per_request
    watched = dict(cpu_of or {})
    if "collector" in watched:  # its extraction workers (and multiprocessing's resource tracker, near 0)
        for index, child in enumerate(_children(watched["collector"])):
            watched[f"child {index}"] = child
    before = {name: _cpu_seconds(pid) for name, pid in watched.items()}
    started = time.monotonic()
    deadline = started + limit
    post_all(port, bodies, senders, deadline)
    posted = time.monotonic() - started
    counts = [wait_for_count(probe, expected, deadline) for probe in probes]
    elapsed = time.monotonic() - started
    used = {name: _cpu_seconds(pid) - before[name] for name, pid in watched.items()}
    rate = min(counts) / elapsed
    print(
        f"{label:<44} {min(counts):>8} spans  {elapsed:6.2f} s  {rate:>9,.0f} spans/s"
        f"  (accepted at {expected / posted:,.0f} spans/s)",
        flush=True,
    )
    if used:
        stored = max(min(counts), 1)
        spent = ", ".join(f"{name} {seconds / stored * 1e6:.1f} µs" for name, seconds in used.items())
        print(f"    CPU per span: {spent}", flush=True)
    return rate


def start_rotel(
    clickhouse_url: str | None, database: str = "", *, otlp_endpoint: str | None = None
) -> tuple[subprocess.Popen[bytes], int, int]:
    """rotel writing into `database` of ClickHouse at `clickhouse_url`; with None, discarding what it receives, or
    with `otlp_endpoint` (http://host:port of an OTLP/gRPC receiver), sending it there uncompressed."""
    binary = rotel_binary()
    if binary is None:
        raise SystemExit("rotel is not installed: pip install rotel")
    grpc_port, http_port = free_port(), free_port()
    listen = ["--otlp-grpc-endpoint", f"127.0.0.1:{grpc_port}", "--otlp-http-endpoint", f"127.0.0.1:{http_port}"]
    exporter = ["--exporter", "blackhole"]
    if otlp_endpoint is not None:
        exporter = [
            *("--exporter", "otlp", "--otlp-exporter-endpoint", otlp_endpoint),
            *("--otlp-exporter-protocol", "grpc", "--otlp-exporter-compression", "none"),
        ]
    elif clickhouse_url is not None:
        exporter = [
            *("--exporter", "clickhouse", "--clickhouse-exporter-endpoint", clickhouse_url),
            *("--clickhouse-exporter-database", database, "--clickhouse-exporter-async-insert", "false"),
            *("--batch-timeout", "200ms", "--traces-batch-max-size", "8192"),
        ]
    process = subprocess.Popen(
        [str(binary), "start", *listen, *exporter], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    time.sleep(1.0)
    return process, grpc_port, http_port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(  # past the duplicate filter's 200k keys, so that a run measures the steady state
        "--spans", type=int, default=409_600, help="spans per run (multiple of 512)"
    )
    parser.add_argument("--senders", type=int, default=2, help="concurrent sender connections")
    parser.add_argument("--time-limit", type=float, default=180, help="seconds per run at most")
    parser.add_argument(
        "--extract-workers", type=int, default=2, help="the collector's --extract-workers (0: extract in-process)"
    )
    parser.add_argument(
        "--reported-costs", action="store_true", help="spans carry the cost llmledger's instrumentation sets"
    )
    args = parser.parse_args()
    workers = ["--extract-workers", str(args.extract_workers)]

    kind = "with their cost reported, as llmledger's spans" if args.reported_costs else "without a cost"
    print(f"building {args.spans // SPANS_PER_REQUEST} requests of {SPANS_PER_REQUEST} LLM spans {kind}…", flush=True)
    bodies = build_requests(args.spans, reported_costs=args.reported_costs)
    with tempfile.TemporaryDirectory(prefix="llmledger-bench-") as tmp, EmbeddedClickHouse(Path(tmp)) as server:
        admin = connect(server.url)
        for database in ("bench_direct", "bench_forward", "bench_pass", "bench_rotel", "bench_rotel_fwd"):
            migrations.apply(admin, database, raw_spans=database.startswith("bench_rotel"))
        env = dict(os.environ)
        base = ["--clickhouse-url", server.url, "--batch-size", "50000", "--flush-interval", "1", *workers]
        count_calls = "SELECT count() FROM {db}.llm_calls"
        count_raw = "SELECT count() FROM {db}.otel_traces"
        print(f"ClickHouse {server.url}; {len(bodies)} requests, {args.senders} senders\n", flush=True)

        collector = start_collector([*base, "--database", "bench_direct"], env=env)
        events_before = _server_events(admin)
        try:
            ours = timed(
                "llmledger collector → llm_calls (+4 rollups)",
                bodies,
                collector.http_port,
                args.senders,
                [rows(admin, count_calls.format(db="bench_direct"))],
                args.time_limit,
                cpu_of={"collector": collector.process.pid, "ClickHouse": server.pid or 0, "senders": os.getpid()},
            )
        finally:
            collector.stop()
        _print_server_work(admin, events_before, len(bodies) * SPANS_PER_REQUEST)

        def forwarding(
            label: str,
            database: str,
            receiver: tuple[subprocess.Popen[bytes], int, int],
            role: str,
            probes: Callable[[Collector], list[Callable[[], int]]],
        ) -> float:
            """The collector forwarding over gRPC to `receiver` (a rotel, stopped afterwards), timed by `probes`."""
            process, grpc_port, _ = receiver
            forward_to = ["--forward", f"grpc://127.0.0.1:{grpc_port}"]
            collector = start_collector([*base, "--database", database, *forward_to], env=env)
            try:
                return timed(
                    label,
                    bodies,
                    collector.http_port,
                    args.senders,
                    probes(collector),
                    args.time_limit,
                    cpu_of={
                        "collector": collector.process.pid,
                        role: process.pid,
                        "ClickHouse": server.pid or 0,
                        "senders": os.getpid(),
                    },
                )
            finally:
                collector.stop()
                process.terminate()
                process.wait(10)

        forward = forwarding(
            "llmledger collector + --forward to rotel",
            "bench_forward",
            start_rotel(server.url, "bench_rotel_fwd"),
            "rotel (receiving)",
            lambda _: [
                rows(admin, count_calls.format(db="bench_forward")),
                rows(admin, count_raw.format(db="bench_rotel_fwd")),
            ],
        )
        passing = forwarding(
            "llmledger collector + --forward (discarded)",
            "bench_pass",
            start_rotel(None),
            "rotel (discarding)",
            lambda collector: [forwarded_spans(collector.http_port), rows(admin, count_calls.format(db="bench_pass"))],
        )

        rotel, _, rotel_http = start_rotel(server.url, "bench_rotel")
        try:
            theirs = timed(
                "rotel → otel_traces",
                bodies,
                rotel_http,
                args.senders,
                [rows(admin, count_raw.format(db="bench_rotel"))],
                args.time_limit,
                cpu_of={"rotel": rotel.pid, "ClickHouse": server.pid or 0, "senders": os.getpid()},
            )
        finally:
            rotel.terminate()
            rotel.wait(10)
        admin.close()

    print()
    print(f"llmledger / rotel:            {ours / theirs:.2f}")
    print(f"llmledger with forwarding / rotel: {forward / theirs:.2f}")
    print(f"forwarding pass-through (discarding receiver), stored and forwarded: {passing:,.0f} spans/s")
    print(f"target ≥ 50,000 LLM spans/s: {'met' if ours >= 50_000 else 'not met'} ({ours:,.0f})")


if __name__ == "__main__":
    main()
