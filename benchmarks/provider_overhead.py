# SPDX-License-Identifier: Apache-2.0
"""Overhead of Anthropic and Google GenAI instrumentors, side by side in one run: none, the official OTel one,
OpenLLMetry, ours — the same method as openai_overhead.py, whose helpers it imports.

    python benchmarks/provider_overhead.py [--provider anthropic|google|all] [--rounds N] [--quick]
                                           [--anthropic-native on|off]

Why a second script: openai_overhead.py prints the OpenAI figures the targets are judged by, and only those; this
one adds the other two SDKs that llmledger instruments, measured the same way, so that the overhead claim covers
all three.

Each provider shares one real TracerProvider (counting processor, spans dropped) and one real MeterProvider
(in-memory reader, never collected), and the SDK's own HTTP client (httpx2 for both) with an in-process
MockTransport replaying ONE recorded body per workload:

- anthropic: messages.create (tests/cassettes/anthropic/.../test_anthropic_message_create_legacy.yaml, gunzipped
  once) and messages.create(stream=True) (.../test_anthropic_message_streaming_legacy.yaml);
- google: models.generate_content (tests/cassettes/google_genai/openinference/.../test_generate_content.yaml) and
  models.generate_content_stream (.../test_streaming_text_content.yaml).

The non-streaming call is also timed isolated, as in openai_overhead.py: the SDK method under every
instrumentor's wrapper answers with the recorded response parsed once beforehand (`isolate`). With Anthropic's
native tracing on, the isolated baseline makes no span (the SDK's own tracing runs inside the method replaced),
so there every instrumentor, ours included, adds one. For Google GenAI the method answered is the private
`Models._generate_content` (one model round trip, which llmledger wraps so that each round of automatic function
calling is its own span), under the public `generate_content` that the peers wrap and that still runs.

Per-chunk overhead is the slope between the recorded stream and a longer one made by repeating its content
events, so the fixed per-call cost cancels. As for OpenAI, the SDK's own per-chunk decoding (SSE + pydantic) is
far larger than what an instrumentor adds, so the targeted per-chunk figure is measured with decoded chunks
replayed (see `install_anthropic_replay` and `install_google_replay`); the slope with the SDK decoding is beside it.

Anthropic 2.x traces itself (one `anthropic.messages.create` span per call) when it has a tracer provider. By
default (`--anthropic-native on`) the clients are given the benchmark's provider, as an application that set a
global provider would have, so the baseline already makes one span per call; llmledger records on that span (ours
must stay at exactly 1 per call), and a peer that adds its own makes 2. spans/op is printed for every row.

Uninstrumenting: an instrumentor's uninstrument() that leaves wrappers behind is undone by the script (every
attribute of the wrapped modules and their classes is put back as it was before instrument()), and said so.
"""

from __future__ import annotations

import argparse
import gzip
import importlib
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anthropic
import httpx2
from anthropic.resources.messages import Messages
from google import genai
from google.genai import types as genai_types
from google.genai.models import Models
from openai_overhead import (  # the OpenAI benchmark's helpers; importing it also turns content capture off
    BATCHES,
    Config,
    CountingProcessor,
    Workload,
    _dist_version,
    _iqr,
    _us,
    call_verdicts,
    isolate,
    overhead_rows,
    recorded_body,
)
from openai_overhead import measure as measure_interleaved
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider

CASSETTES = Path(__file__).resolve().parent.parent / "tests" / "cassettes"
ANTHROPIC_DIR = CASSETTES / "anthropic" / "openllmetry" / "anthropic" / "test_messages"
GOOGLE_DIR = CASSETTES / "google_genai" / "openinference" / "google-genai" / "test_instrumentation"
ANTHROPIC_MESSAGES = [{"role": "user", "content": "Tell me a joke about OpenTelemetry"}]
GOOGLE_CONTENTS = "Write a short story about a cat."
LONG_STREAM_REPEATS = 10
REPLAY_STREAM_REPEATS = 40
REPLAY_HEADER = "x-bench-replay-decoded-chunks"
CALL_RATIO_TARGET = 0.7
CHUNK_TARGET_US = 2.0


# --- recorded traffic -----------------------------------------------------------------------------------


def _events(body: bytes) -> tuple[list[bytes], bytes]:
    """SSE events and their separator (the Gemini recording uses CRLF)."""
    sep = b"\r\n\r\n" if b"\r\n\r\n" in body else b"\n\n"
    return [e for e in body.split(sep) if e.strip()], sep


def longer_stream(body: bytes, repeats: int, is_content: Callable[[bytes], bool]) -> bytes:
    """The recorded events with the contiguous run of content events repeated `repeats` times, in place."""
    events, sep = _events(body)
    index = [i for i, e in enumerate(events) if is_content(e)]
    first, last = index[0], index[-1] + 1
    return sep.join(events[:first] + events[first:last] * repeats + events[last:]) + sep


def _anthropic_delta(event: bytes) -> bool:
    return b"content_block_delta" in event


def _google_middle(body: bytes) -> Callable[[bytes], bool]:
    """Gemini chunks are all alike; the first (role) and last (finishReason, final usage) stay single."""
    events, _ = _events(body)
    middle = set(events[1:-1])
    return lambda event: event in middle


def _handler(body: bytes, content_type: str, replay: bool) -> httpx2.MockTransport:
    headers = {"content-type": content_type, **({REPLAY_HEADER: "1"} if replay else {})}
    return httpx2.MockTransport(lambda request: httpx2.Response(200, headers=headers, content=body))


# --- SDK clients ----------------------------------------------------------------------------------------


def anthropic_client(
    body: bytes, content_type: str, tracer_provider: TracerProvider | None, replay: bool = False
) -> anthropic.Anthropic:
    """A real Anthropic client; with `tracer_provider`, the SDK's native tracing is on (as with a global one)."""
    native: Any = {"tracer_provider": tracer_provider} if tracer_provider is not None else False
    return anthropic.Anthropic(
        api_key="test",
        max_retries=0,
        http_client=anthropic.DefaultHttpxClient(transport=_handler(body, content_type, replay)),
        open_telemetry=native,
    )


def google_client(body: bytes, content_type: str, replay: bool = False) -> genai.Client:
    """A real google-genai client (Gemini API) whose injected httpx2 client serves `body`."""
    client = genai.Client(
        api_key="test",
        http_options=genai_types.HttpOptions(
            api_version="v1beta", httpx_client=httpx2.Client(transport=_handler(body, content_type, False))
        ),
    )
    if replay:
        client._api_client._bench_replay = body  # type: ignore[attr-defined]
    return client


def install_anthropic_replay() -> None:
    """Decoded chunks replayed for a response carrying REPLAY_HEADER, as openai_overhead.install_chunk_replay:
    the request, the response and the `anthropic.Stream` every instrumentor wraps are real; only SSE decoding and
    pydantic construction of each event is done once per body instead of on every pass."""
    stream_cls = anthropic.Stream
    original = stream_cls.__stream__
    decoded: dict[bytes, list[Any]] = {}

    def replaying(self: Any) -> Any:
        if REPLAY_HEADER not in self.response.headers:
            yield from original(self)
            return
        body = self.response.read()
        if body not in decoded:
            self.response = httpx2.Response(200, headers=self.response.headers, content=body)
            decoded[body] = list(original(self))
        self.response.close()
        yield from decoded[body]

    stream_cls.__stream__ = replaying  # type: ignore[method-assign]


def install_google_replay() -> None:
    """The same for google-genai, one level up: `Models._generate_content_stream` (the per-request method that the
    public `generate_content_stream` calls, and that llmledger wraps) yields, for a replay client, the responses
    it decoded from the same body the first time. There is no stream object to keep, so a replayed call sends no
    request: that is a per-call cost, and cancels out of the per-chunk slope, the only figure replay is used for.
    Installed before any instrumentor, so every instrumentor wraps the replaying method or its caller."""
    models = genai.models.Models
    original = models._generate_content_stream
    decoded: dict[bytes, list[Any]] = {}

    def _generate_content_stream(self: Any, **kwargs: Any) -> Iterator[Any]:
        body = getattr(self._api_client, "_bench_replay", None)
        if body is None:
            yield from original(self, **kwargs)
            return
        if body not in decoded:
            decoded[body] = list(original(self, **kwargs))
        yield from decoded[body]

    models._generate_content_stream = _generate_content_stream  # type: ignore[method-assign]


# --- configurations -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Peer:
    name: str
    dist: str
    module: str
    cls: str


@dataclass(frozen=True)
class Provider:
    name: str
    sdk: str
    wrapped_modules: tuple[str, ...]  # where any instrumentor puts wrappers: snapshotted and restored
    peers: tuple[Peer, ...]
    ours: tuple[str, str]


PROVIDERS = {
    "anthropic": Provider(
        "anthropic",
        "anthropic",
        (
            "anthropic.resources.messages",
            "anthropic.resources.messages.messages",
            "anthropic.resources.beta.messages",
            "anthropic.resources.beta.messages.messages",
            "anthropic.resources.completions",
            "anthropic._response",
            "anthropic._base_client",
            "anthropic._streaming",
        ),
        (
            Peer(
                "official",
                "opentelemetry-instrumentation-genai-anthropic",
                "opentelemetry.instrumentation.genai.anthropic",
                "AnthropicInstrumentor",
            ),
            Peer(
                "openllmetry",
                "opentelemetry-instrumentation-anthropic",
                "opentelemetry.instrumentation.anthropic",
                "AnthropicInstrumentor",
            ),
        ),
        ("llmledger.instrumentation.anthropic", "AnthropicInstrumentor"),
    ),
    "google": Provider(
        "google",
        "google-genai",
        ("google.genai.models", "google.genai.caches", "google.genai.chats"),
        (
            Peer(
                "official",
                "opentelemetry-instrumentation-google-genai",
                "opentelemetry.instrumentation.google_genai",
                "GoogleGenAiSdkInstrumentor",
            ),
            Peer(
                "openllmetry",
                "opentelemetry-instrumentation-google-generativeai",
                "opentelemetry.instrumentation.google_generativeai",
                "GoogleGenerativeAiInstrumentor",
            ),
        ),
        ("llmledger.instrumentation.google_genai", "GoogleGenAIInstrumentor"),
    ),
}

# Per config: how many attributes its uninstrument() left wrapped, which the script restored.
LEFT_WRAPPED: dict[str, int] = {}


def _snapshot(modules: tuple[str, ...]) -> dict[Any, dict[str, Any]]:
    """The attributes of each module and of each class defined in it, as they are now."""
    found: dict[Any, dict[str, Any]] = {}
    for name in modules:
        module = sys.modules.get(name)
        if module is None:
            continue
        found[module] = dict(vars(module))
        for value in vars(module).values():
            if isinstance(value, type) and value.__module__ == name:
                found.setdefault(value, dict(vars(value)))
    return found


def _restore(saved: dict[Any, dict[str, Any]]) -> int:
    """Put back every attribute that differs from `saved`; how many did."""
    restored = 0
    for owner, attributes in saved.items():
        for name, value in attributes.items():
            if vars(owner).get(name) is not value:
                setattr(owner, name, value)
                restored += 1
    return restored


def _sdk_range_note(instrumentor: Any, sdk: str) -> str | None:
    """Why BaseInstrumentor would refuse to instrument the installed SDK, or None if it would not."""
    from opentelemetry.instrumentation.dependencies import get_dependency_conflicts

    conflict = get_dependency_conflicts(instrumentor.instrumentation_dependencies())
    return None if conflict is None else f"{conflict} ({sdk} {_dist_version(sdk)} installed)"


def configurations(
    provider: Provider, tracer_provider: TracerProvider, meter_provider: MeterProvider
) -> tuple[list[Config], list[str]]:
    """The configs to measure, and a line for each peer that could not be measured as it stands."""
    kwargs: dict[str, Any] = {"tracer_provider": tracer_provider, "meter_provider": meter_provider}
    configs = [Config("none", "no instrumentation", lambda: None, lambda: None)]
    notes: list[str] = []

    def add(name: str, label: str, instrumentor: Any, extra: dict[str, Any]) -> None:
        saved: list[dict[Any, dict[str, Any]]] = []

        def instrument() -> None:
            saved[:] = [_snapshot(provider.wrapped_modules)]
            instrumentor.instrument(**kwargs, **extra)

        def uninstrument() -> None:
            instrumentor.uninstrument()
            left = _restore(saved[0])
            if left:
                LEFT_WRAPPED[name] = left

        configs.append(Config(name, label, instrument, uninstrument))

    for peer in provider.peers:
        label = f"{peer.dist} {_dist_version(peer.dist)}"
        try:
            instrumentor = getattr(importlib.import_module(peer.module), peer.cls)()
        except Exception as error:  # not installed, or fails to import against this SDK
            notes.append(f"{peer.name}: {peer.dist} not measured: {type(error).__name__}: {error}")
            continue
        conflict = _sdk_range_note(instrumentor, provider.sdk)
        extra: dict[str, Any] = {}
        if conflict:
            # instrument() would log the conflict and do nothing; forced, to see whether it still works.
            notes.append(f"{peer.name}: {peer.dist} declares {conflict}: measured forced (skip_dep_check=True)")
            label += " [forced past its declared SDK range]"
            extra["skip_dep_check"] = True
        add(peer.name, label, instrumentor, extra)

    module, cls = provider.ours
    add("llmledger", f"llmledger {_dist_version('llmledger')}", getattr(importlib.import_module(module), cls)(), {})
    return configs, notes


# --- workloads ------------------------------------------------------------------------------------------


def _drain(iterable: Any) -> Any:
    last = None
    for last in iterable:  # noqa: B007
        pass
    return last


def _stream_loads(
    make: Callable[[bytes, bool], Callable[[], Any]],
    short: bytes,
    is_content: Callable[[bytes], bool],
    scale: int,
) -> list[Workload]:
    """The four stream workloads; chunk counts are what the SDK yields, counted once uninstrumented."""
    long = longer_stream(short, LONG_STREAM_REPEATS, is_content)
    replay = longer_stream(short, REPLAY_STREAM_REPEATS, is_content)
    loads = []
    for name, body, is_replay, batch in (
        ("stream", short, False, 10),
        ("stream_long", long, False, 3),
        ("replay", short, True, 14),
        ("replay_long", replay, True, 10),
    ):
        run = make(body, is_replay)
        loads.append(Workload(name, run, max(batch // scale, 1), sum(1 for _ in run())))
    return loads


def anthropic_workloads(tracer_provider: TracerProvider | None, scale: int) -> list[Workload]:
    chat_body = gzip.decompress(recorded_body(ANTHROPIC_DIR / "test_anthropic_message_create_legacy.yaml"))
    chat = anthropic_client(chat_body, "application/json", tracer_provider)
    stream_body = recorded_body(ANTHROPIC_DIR / "test_anthropic_message_streaming_legacy.yaml")

    def call() -> Any:
        return chat.messages.create(model="claude-3-opus-20240229", max_tokens=1024, messages=ANTHROPIC_MESSAGES)

    def make(body: bytes, replay: bool) -> Callable[[], Any]:
        client = anthropic_client(body, "text/event-stream", tracer_provider, replay)

        def run() -> Any:
            return client.messages.create(
                model="claude-3-haiku-20240307", max_tokens=1024, messages=ANTHROPIC_MESSAGES, stream=True
            )

        return run

    parsed = call()
    return [
        Workload("call", call, max(20 // scale, 1)),
        Workload("call_isolated", call, max(400 // scale, 1), around=lambda: isolate(Messages, "create", parsed)),
        *_wrap_drain(_stream_loads(make, stream_body, _anthropic_delta, scale)),
    ]


def google_workloads(scale: int) -> list[Workload]:
    chat = google_client(recorded_body(GOOGLE_DIR / "test_generate_content.yaml"), "application/json")
    stream_body = recorded_body(GOOGLE_DIR / "test_streaming_text_content.yaml")

    def call() -> Any:
        return chat.models.generate_content(model="gemini-2.0-flash", contents=GOOGLE_CONTENTS)

    def make(body: bytes, replay: bool) -> Callable[[], Any]:
        client = google_client(body, "text/event-stream", replay)
        return lambda: client.models.generate_content_stream(model="gemini-2.0-flash", contents=GOOGLE_CONTENTS)

    parsed = call()
    return [
        Workload("call", call, max(20 // scale, 1)),
        Workload(
            "call_isolated", call, max(400 // scale, 1), around=lambda: isolate(Models, "_generate_content", parsed)
        ),
        *_wrap_drain(_stream_loads(make, stream_body, _google_middle(stream_body), scale)),
    ]


def _wrap_drain(loads: list[Workload]) -> list[Workload]:
    """Stream workloads run to the end (the chunk count above iterated the same call)."""
    return [Workload(w.name, (lambda r=w.run: _drain(r())), w.batch, w.chunks) for w in loads]


# --- measurement and report -----------------------------------------------------------------------------


def measure(configs: list[Config], loads: list[Workload], rounds: int, processor: CountingProcessor) -> dict[str, Any]:
    """openai_overhead's interleaved rounds; the peers' leftovers are restored by their own configs here."""
    return measure_interleaved(configs, loads, rounds, processor, after_uninstrument=lambda config: None)


def report(configs: list[Config], loads: list[Workload], checks: dict[str, Any]) -> dict[str, dict[str, float]]:
    base = configs[0]
    by_name = {load.name: load for load in loads}
    print("\n  Baseline (no instrumentation), median per operation (IQR):")
    for load in loads:
        values = base.results[load.name]
        extra = f"  {load.chunks} chunks" if load.chunks else ""
        print(f"    {load.name:<12}{_us(statistics.median(values))} µs ({_us(_iqr(values)).strip():>6}){extra}")
    base_spans = "/".join(f"{checks['none'][load.name][0]:g}" for load in loads)
    print(f"    spans/op without instrumentation: {base_spans}")

    stream_chunks = by_name["stream"].chunks
    print("\n  Overhead = instrumented - baseline, paired per round, median over rounds (IQR), µs:")
    print(
        f"    {'':<13}{'per call':>18}{'per stream call':>19}{'per chunk':>17}{'per chunk':>17}"
        f"{'per call':>18}  spans/op  span"
    )
    head = f"({stream_chunks} chunks)"
    print(
        f"    {'':<13}{'(non-stream)':>18}{head:>19}{'(replayed)':>17}{'(SDK decoding)':>17}"
        f"{'(isolated)':>18}            attrs"
    )
    return overhead_rows(configs, loads, checks, indent="    ")


def _ratio(ours: float, theirs: float) -> str:
    return f"{ours / theirs:5.2f}×" if theirs > 0 else "  n/a (peer ≤ 0)"


def run_provider(name: str, rounds: int, scale: int, native: bool) -> bool:
    provider = PROVIDERS[name]
    processor = CountingProcessor()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(processor)
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])

    if name == "anthropic":
        loads = anthropic_workloads(tracer_provider if native else None, scale)
        sdk = f"anthropic {anthropic.__version__} (native SDK tracing {'on' if native else 'off'})"
    else:
        loads = google_workloads(scale)
        sdk = f"google-genai {genai.__version__}"
    configs, notes = configurations(provider, tracer_provider, meter_provider)

    print(f"\n=== {name}: {sdk}, httpx2 {_dist_version('httpx2')}")
    for config in configs[1:]:
        print(f"    {config.name:<12} = {config.label}")
    for note in notes:
        print(f"    ! {note}")
    sizes = ", ".join(f"{w.batch} {w.name}" for w in loads)
    print(f"    {rounds} rounds; in each, the fastest of {BATCHES} batches of {sizes}")

    started = time.perf_counter()
    checks = measure(configs, loads, rounds, processor)
    elapsed = time.perf_counter() - started
    for config_name, count in LEFT_WRAPPED.items():
        print(f"    note: {config_name}'s uninstrument() left {count} attributes wrapped; restored by the script")
    LEFT_WRAPPED.clear()
    figures = report(configs, loads, checks)
    print(f"    (measured in {elapsed:.0f} s; spans/op per workload in order: {', '.join(w.name for w in loads)})")

    ours = figures["llmledger"]
    peers = {n: f for n, f in figures.items() if n != "llmledger"}
    print("\n  Ours vs peers (ratio = our overhead / theirs):")
    for peer_name, f in peers.items():
        print(
            f"    vs {peer_name:<12} per call {_ratio(ours['call'], f['call'])}"
            f"   (isolated {_ratio(ours['call_isolated'], f['call_isolated'])})"
            f"   stream call {_ratio(ours['stream'], f['stream'])}   per chunk {_ratio(ours['chunk'], f['chunk'])}"
        )

    print("\n  Targets:")
    verdicts = []
    ours_spans = {checks["llmledger"][load.name][0] for load in loads}
    ok = ours_spans == {1.0}
    verdicts.append(ok)
    print(f"    [{'PASS' if ok else 'MISS'}] llmledger spans per call: {sorted(ours_spans)} (must be exactly 1)")
    verdicts += call_verdicts(ours, peers, indent="    ")
    ok = ours["chunk"] * 1e6 <= CHUNK_TARGET_US
    verdicts.append(ok)
    print(f"    [{'PASS' if ok else 'MISS'}] per-chunk overhead {ours['chunk'] * 1e6:.2f} µs ≤ {CHUNK_TARGET_US} µs")
    return all(verdicts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--provider", choices=("anthropic", "google", "all"), default="all")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 16, --quick 8)")
    parser.add_argument("--quick", action="store_true", help="a quarter of the batch sizes, 8 rounds")
    parser.add_argument(
        "--anthropic-native",
        choices=("on", "off"),
        default="on",
        help="give the Anthropic clients the tracer provider, so the SDK's own span is on (default on)",
    )
    args = parser.parse_args()
    rounds = args.rounds or (8 if args.quick else 16)
    install_anthropic_replay()
    install_google_replay()
    otel = _dist_version("opentelemetry-sdk")
    print(f"Python {sys.version.split()[0]}, opentelemetry-sdk {otel}, {os.cpu_count()} CPUs")
    print("  each provider in one process; each batch instrumented and uninstrumented in turn (shuffled each pass)")
    names = ("anthropic", "google") if args.provider == "all" else (args.provider,)
    for name in names:
        run_provider(name, rounds, 4 if args.quick else 1, args.anthropic_native == "on")


if __name__ == "__main__":
    main()
