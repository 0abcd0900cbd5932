# SPDX-License-Identifier: Apache-2.0
"""What llmledger adds per stream chunk on Bedrock (botocore), Cohere, Ollama, Mistral and LiteLLM: the target of
issue 26, "per stream chunk ≤ 2 µs on every provider", measured as openai_overhead.py and provider_overhead.py
measure it for OpenAI, Anthropic and Google GenAI (whose helpers this script imports).

    python benchmarks/stream_chunk_overhead.py [--provider bedrock|cohere|ollama|mistral|litellm|all]
                                               [--rounds N] [--quick]

Why a script of its own: the other two measure whole calls against peers; the five providers here have no peer
set up in the benchmarks, and what the target asks of them is only the per-chunk figure, which this script gives
for every streamed operation that llmledger records on them.

The SDK's own decoding of a chunk (SSE or JSON lines, event-stream frames, pydantic) costs far more than what an
instrumentor adds to it, so the figure is measured with decoded chunks replayed, as the "replayed" per-chunk
column of the other two scripts is:

1. Each stream is decoded once, uninstrumented, by the real SDK from a recording in tests/cassettes, served
   in-process through the SDK's own client (the test helpers in tests/instrumentation/<provider>/ know the
   recordings, the call's arguments and how to build the client): the chunks or events the SDK yielded are kept.
   Every recording ends with the call's usage, as an app sees its streams end.
2. A long stream is made from them: the run of content chunks in the middle repeated (as many times as it takes to
   add at least ADDED_CHUNKS chunks), the chunks around it (the first; the stop reason and the usage at the end)
   kept single.
3. The SDK method that llmledger wraps is "isolated" (`isolate_stream`, a variant of `openai_overhead.isolate`):
   under whatever wraps it, it returns a fresh iterator over the decoded chunks of the recorded or the long stream
   at each call (Bedrock: the operation's result dict, with that iterator under its stream key). The wrapper, its
   span, the stream proxy, the provider's StreamReader, the metrics and the pricing run as in a real call; request
   building, HTTP and decoding are gone.
4. In interleaved rounds (`openai_overhead.measure`), each batch is timed with no instrumentation and with
   llmledger's instrumentor, instrumented and uninstrumented in turn, sharing one real TracerProvider (a span
   processor that counts spans and drops them) and one real MeterProvider (an in-memory reader never collected).
   A round keeps each configuration's fastest of BATCHES batches. Per round, the per-chunk overhead is
   ((ours_long - none_long) - (ours_recorded - none_recorded)) / (chunks_long - chunks_recorded): the fixed cost
   of a call (span start and end, pricing, metrics) cancels. The figure is the median over rounds, with its IQR.

Before timing, each operation is called once instrumented and once not: llmledger's call must give the app the
stream proxy, make exactly one span with the stream's usage on it and yield every chunk; the uninstrumented one no
span and no proxy. spans/op of the timed runs is checked again after. Either failing stops the script: a benchmark
that measured nothing must not print a pass.

The operations, with the method each isolates (what llmledger wraps; see instrumentation/<provider>/_endpoints.py):

- ollama: `Client.chat(stream=True)`, test_ollama_streaming_chat_legacy.yaml;
- cohere: v1 `BaseCohere.chat_stream` (test_cohere_chat_legacy_with_streaming.yaml) and v2
  `V2Client.chat_stream` (test_cohere_v2_chat_legacy_with_streaming.yaml). The clients are made with
  `log_warning_experimental_features=False`: with the default, `Client.__init__` stores `chat_stream` bound as it is
  at that moment on the instance, so a client made before instrumenting (as here: the client outlives many
  instrument/uninstrument cycles) would never reach the wrapper;
- mistral: `Chat.stream`, test_mistralai_async_streaming_chat_legacy.yaml (the recording's body, read by the sync
  client);
- bedrock: botocore's `BaseClient._make_api_call`, for a bedrock-runtime client made before instrumenting (served
  its recorded responses through botocore's `before-send` event, tests/instrumentation/bedrock/transport.py):
  ConverseStream (test_converse_stream_with_content.yaml), InvokeModelWithResponseStream of Claude
  (test_invoke_model_with_response_stream_with_content[anthropic.claude].yaml, whose content deltas the reader
  recognises without decoding) and of Titan (test_titan_invoke_stream_guardrail.yaml, model JSON of which the
  reader decodes only the chunks that name a key it reads: the first and the last);
- litellm: the module function `litellm.completion(stream=True)`, its chunks (`ModelResponseStream`) decoded by
  LiteLLM's `CustomStreamWrapper` from the recorded OpenAI stream (test_chat_completion_streaming.yaml, asked with
  `include_usage`) served by tests/collector/frameworks/replay_server.py on loopback. LiteLLM is not in the test
  set's venv; it is in the frameworks' (requirements/frameworks.lock, built by the framework tests into
  .cache/frameworks, with a wheel of this checkout reinstalled at every test session): run `--provider litellm`
  with that Python. `--provider all` skips it, saying so, where it is not installed.

Prompt and completion capture is off (the default).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import math
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import wrapt
from openai_overhead import (  # the OpenAI benchmark's helpers; importing it also turns content capture off
    BATCHES,
    CHUNK_TARGET_US,
    Config,
    CountingProcessor,
    Workload,
    _dist_version,
    _iqr,
    _slope,
    measure,
)
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider

from llmledger.instrumentation._shared.streams import SyncStream

# The test helpers (tests.instrumentation.*) that know the recordings and build the SDKs' clients. Put first on the
# path after llmledger was imported, so that the checkout's `llmledger/` folder cannot stand in for an installed
# llmledger (a wheel, as in the frameworks' venv).
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ADDED_CHUNKS = 1000  # the long stream has at least this many chunks more than the recorded one
RECORDED_BATCH = 60  # streams per timed batch: the recorded stream (5 to 109 chunks)
LONG_BATCH = 12  # and the long one (1,000 chunks more)
PROVIDERS = ("bedrock", "cohere", "ollama", "mistral", "litellm")

INPUT_TOKENS = "gen_ai.usage.input_tokens"
OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
USAGE_COMPLETE = "llmledger.usage.complete"


# --- streams --------------------------------------------------------------------------------------------


@dataclass
class Operation:
    """One streamed operation: how the app calls it, what llmledger wraps, and its chunks, decoded once."""

    name: str
    recording: str  # the cassette, under tests/cassettes
    owner: Any  # the class (or module) whose attribute llmledger wraps
    method: str
    call: Callable[[], Any]  # the app's call; returns what the SDK method returns
    stream_of: Callable[[Any], Any] = lambda result: result  # the stream in that result
    result_of: Callable[[Iterator[Any]], Any] = lambda stream: stream  # what the isolated method returns
    recorded: list[Any] = field(default_factory=list)
    long: list[Any] = field(default_factory=list)
    content: int = 0  # chunks in the repeated run
    repeats: int = 0
    original: Any = None  # owner.method before any instrumentor ran


def decode(op: Operation, is_content: Callable[[Any], bool]) -> Operation:
    """Run the real SDK once (uninstrumented) and keep what it yielded; build the long stream from it."""
    op.original = op.owner.__dict__[op.method]
    op.recorded = list(op.stream_of(op.call()))
    op.long, op.content, op.repeats = longer(op.recorded, is_content)
    return op


def longer(chunks: list[Any], is_content: Callable[[Any], bool]) -> tuple[list[Any], int, int]:
    """The chunks with their contiguous run of content chunks (never the first chunk) repeated until at least
    ADDED_CHUNKS were added; also the run's length and the number of repeats."""
    index = [i for i, chunk in enumerate(chunks) if i > 0 and is_content(chunk)]
    if not index:
        raise SystemExit("no content chunk in the recorded stream: nothing to repeat")
    first, last = index[0], index[-1] + 1
    if len(index) != last - first:
        raise SystemExit(f"the content chunks are not one run (chunks {first}..{last - 1}): check `is_content`")
    run = chunks[first:last]
    repeats = 1 + math.ceil(ADDED_CHUNKS / len(run))
    return chunks[:first] + run * repeats + chunks[last:], len(run), repeats


def isolate_stream(owner: Any, method: str, fresh: Callable[[], Any]) -> Callable[[], None]:
    """`openai_overhead.isolate` for streams: `owner.method`, under whatever wraps it now, returns `fresh()` at
    each call (a new stream each time; `isolate` returns one response object); returns what puts it back.

    llmledger wraps with wrapt's `wrap_function_wrapper`: its wrapper stays, around a function that answers with
    `fresh()` instead of calling the SDK. Uninstrumented, that function is the method. It takes any arguments, so
    it stands for a method (the instance is its first) and for a module function (LiteLLM's) alike.
    """
    current = owner.__dict__[method]

    def answer(*args: Any, **kwargs: Any) -> Any:
        return fresh()

    wrapper = getattr(current, "_self_wrapper", None)
    setattr(owner, method, answer if wrapper is None else wrapt.FunctionWrapper(answer, wrapper))
    return lambda: setattr(owner, method, current)


def drain(stream: Any) -> int:
    """Read a stream to its end, as an app's `for` loop does; how many chunks it gave."""
    count = 0
    for _ in stream:
        count += 1
    return count


def replay(op: Operation, chunks: list[Any]) -> Callable[[], Callable[[], None]]:
    """The `around` of a workload: `op`'s method isolated, answering with `chunks`."""
    return lambda: isolate_stream(op.owner, op.method, lambda: op.result_of(iter(chunks)))


# --- the providers --------------------------------------------------------------------------------------


@dataclass
class Provider:
    sdk: str  # name and version, for the header
    instrumentor: tuple[str, str]  # module, class
    operations: list[Operation]


def _get(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)


def ollama_provider(stack: contextlib.ExitStack) -> Provider:
    from ollama._client import Client

    from tests.instrumentation.ollama import transport

    client = transport.client(transport.reply(transport.CHAT_STREAM))
    op = Operation(
        "chat stream",
        transport.CHAT_STREAM[0],
        Client,
        "chat",
        lambda: client.chat(model="llama3", messages=transport.MESSAGES, stream=True),
    )
    return Provider(
        f"ollama {_dist_version('ollama')}",
        ("llmledger.instrumentation.ollama", "OllamaInstrumentor"),
        [decode(op, lambda chunk: _get(chunk, "done") is not True)],  # the last chunk (done) has the counts
    )


def cohere_provider(stack: contextlib.ExitStack) -> Provider:
    import httpx
    from cohere.base_client import BaseCohere
    from cohere.v2.client import V2Client

    from tests.instrumentation.cohere import sdk_calls, transport

    def client(recorded: tuple[str, int], v2: bool, content_type: str) -> Any:
        return sdk_calls.client_class(v2, asynchronous=False)(
            api_key="test",
            base_url=sdk_calls.API,
            httpx_client=httpx.Client(transport=httpx.MockTransport(transport.reply(recorded, content_type))),
            log_warning_experimental_features=False,  # see the module docstring
        )

    v1 = client(transport.CHAT_STREAM, False, "application/json")  # v1 streams JSON lines
    v2 = client(transport.CHAT_V2_STREAM, True, "text/event-stream")
    message = transport.MESSAGES[0]["content"]
    return Provider(
        f"cohere {_dist_version('cohere')}",
        ("llmledger.instrumentation.cohere", "CohereInstrumentor"),
        [
            decode(
                Operation(
                    "v1 chat_stream",
                    transport.CHAT_STREAM[0],
                    BaseCohere,
                    "chat_stream",
                    lambda: v1.chat_stream(model="command", message=message),
                ),
                lambda event: _get(event, "event_type") == "text-generation",
            ),
            decode(
                Operation(
                    "v2 chat_stream",
                    transport.CHAT_V2_STREAM[0],
                    V2Client,
                    "chat_stream",
                    lambda: v2.chat_stream(model="command", messages=transport.MESSAGES),
                ),
                lambda event: _get(event, "type") == "content-delta",
            ),
        ],
    )


def mistral_provider(stack: contextlib.ExitStack) -> Provider:
    from mistralai.client.chat import Chat

    from tests.instrumentation.mistral import transport

    client = transport.client(transport.sse(transport.CHAT_STREAM))

    def middle(event: Any) -> bool:  # neither the role chunk (first) nor the one with finish reason and usage
        chunk = _get(event, "data")
        return _get(chunk, "usage") is None and all(_get(c, "finish_reason") is None for c in _get(chunk, "choices"))

    op = Operation(
        "chat.stream",
        transport.CHAT_STREAM[0],
        Chat,
        "stream",
        lambda: client.chat.stream(model="mistral-tiny", messages=transport.MESSAGES),
    )
    return Provider(
        f"mistralai {_dist_version('mistralai')}",
        ("llmledger.instrumentation.mistral", "MistralInstrumentor"),
        [decode(op, middle)],
    )


# Bedrock: (name, recording, interaction, which chunks are content).
_CLAUDE_DELTA = b'{"type":"content_block_delta"'


def _chunk_bytes(event: Any) -> bytes:
    return bytes(event.get("chunk", {}).get("bytes", b""))


BEDROCK_STREAMS: tuple[tuple[str, str, int, Callable[[Any], bool]], ...] = (
    (
        "ConverseStream",
        "bedrock/otel-contrib/botocore/test_converse_stream_with_content.yaml",
        0,
        lambda event: "contentBlockDelta" in event,
    ),
    (
        "InvokeModelWithResponseStream (Claude)",
        "bedrock/otel-contrib/botocore/test_invoke_model_with_response_stream_with_content[anthropic.claude].yaml",
        0,
        lambda event: _chunk_bytes(event).startswith(_CLAUDE_DELTA),
    ),
    (
        "InvokeModelWithResponseStream (Titan)",
        "bedrock/openllmetry/bedrock/metrics/test_bedrock_guardrails_metrics/test_titan_invoke_stream_guardrail.yaml",
        0,
        # Titan's middle chunks carry text only; the first has the input count, the last the output count.
        lambda event: b"TokenCount" not in _chunk_bytes(event),
    ),
)


def bedrock_provider(stack: contextlib.ExitStack) -> Provider:
    from botocore.client import BaseClient

    from tests.cassette_replay import interactions
    from tests.instrumentation.bedrock import sdk_calls, transport

    served: dict[str, Any] = {}
    exec(transport.SERVE, served)  # the test helper's `before-send` handler, kept as source for child apps

    operations = []
    for name, recording, index, is_content in BEDROCK_STREAMS:
        interaction = interactions(recording)[index]
        region, _, method = sdk_calls.target(interaction)
        client = sdk_calls.client(region)  # made before any instrumentor: recorded at `_make_api_call`
        operation = client.meta.method_to_api_mapping[method]
        reply = served["serve"]({operation: transport.recorded(recording, index)})
        client.meta.events.register("before-send.bedrock-runtime", reply)
        kwargs = sdk_calls.arguments(interaction)
        key = sdk_calls.STREAM_KEYS[method]
        result = getattr(client, method)(**kwargs)
        rest = {k: v for k, v in result.items() if k != key}  # ResponseMetadata, contentType: what else it holds

        def call(client: Any = client, method: str = method, kwargs: dict[str, Any] = kwargs) -> Any:
            return getattr(client, method)(**kwargs)

        def stream_of(result: Any, key: str = key) -> Any:
            return result[key]

        def result_of(stream: Iterator[Any], key: str = key, rest: dict[str, Any] = rest) -> Any:
            return {**rest, key: stream}  # a new dict each call: llmledger puts its proxy in it

        op = Operation(
            name,
            recording,
            BaseClient,
            "_make_api_call",
            call,
            stream_of=stream_of,
            result_of=result_of,
        )
        operations.append(decode(op, is_content))
    return Provider(
        f"botocore {_dist_version('botocore')} (boto3 {_dist_version('boto3')})",
        ("llmledger.instrumentation.bedrock", "BedrockInstrumentor"),
        operations,
    )


def litellm_provider(stack: contextlib.ExitStack) -> Provider:
    import litellm

    from tests.collector.frameworks.replay_server import ReplayServer
    from tests.instrumentation.openai.transport import CHAT_STREAM

    # Serves the recorded stream to each real request: one to decode, one per configuration and workload in the
    # warm-up pass of `measure`, which calls the SDK itself (the isolation is on in the timed batches only).
    server = stack.enter_context(ReplayServer(answers=[CHAT_STREAM] * 32))
    messages = [{"role": "user", "content": "Say this is a test"}]

    def call() -> Any:
        return litellm.completion(
            model="gpt-4",
            messages=messages,
            stream=True,
            stream_options={"include_usage": True},
            api_base=server.base_url,
            api_key="test",
        )

    def middle(chunk: Any) -> bool:  # neither the first (role) nor the finish reason nor the usage chunk
        usage = _get(chunk, "usage")
        return (usage is None or _get(usage, "prompt_tokens") is None) and all(
            _get(c, "finish_reason") is None for c in _get(chunk, "choices") or ()
        )

    op = Operation("completion(stream=True)", CHAT_STREAM[0], litellm, "completion", call)
    return Provider(
        f"litellm {_dist_version('litellm')} (openai {_dist_version('openai')})",
        ("llmledger.instrumentation.litellm", "LiteLLMInstrumentor"),
        [decode(op, middle)],
    )


BUILDERS: dict[str, Callable[[contextlib.ExitStack], Provider]] = {
    "bedrock": bedrock_provider,
    "cohere": cohere_provider,
    "ollama": ollama_provider,
    "mistral": mistral_provider,
    "litellm": litellm_provider,
}


# --- checks ---------------------------------------------------------------------------------------------


class LastSpanProcessor(CountingProcessor):
    """`CountingProcessor`, also keeping the last span's attributes (one reference; the span is dropped)."""

    def __init__(self) -> None:
        super().__init__()
        self.attributes: Mapping[str, Any] = {}

    def on_end(self, span: ReadableSpan) -> None:
        super().on_end(span)
        self.attributes = span.attributes or {}


def check_calls(op: Operation, configs: list[Config], processor: LastSpanProcessor) -> str:
    """One isolated call of the long stream per configuration; fails the script unless llmledger's gave the stream
    proxy, made one span with the usage on it and yielded every chunk, and the uninstrumented one did neither."""
    for config in configs:
        ours = config.name == "llmledger"
        config.instrument()
        try:
            undo = replay(op, op.long)()
            try:
                before = processor.ended
                stream = op.stream_of(op.call())
                proxied = isinstance(stream, SyncStream)
                chunks = drain(stream)
                spans = processor.ended - before
            finally:
                undo()
        finally:
            config.uninstrument()
        check_restored(op)
        problems = []
        if spans != (1 if ours else 0):
            problems.append(f"{spans} spans (expected {1 if ours else 0})")
        if proxied != ours:
            problems.append("the stream proxy in place" if proxied else "no stream proxy (SyncStream) in place")
        if chunks != len(op.long):
            problems.append(f"{chunks} chunks read of {len(op.long)}")
        if ours and not problems:
            attributes = processor.attributes
            if attributes.get(OUTPUT_TOKENS) is None or attributes.get(USAGE_COMPLETE) is not True:
                problems.append(f"no complete usage on the span: {dict(attributes)}")
        if problems:
            raise SystemExit(f"{op.name}, {config.name}: " + "; ".join(problems))
    attributes = processor.attributes
    return (
        f"1 span per call, stream proxy {SyncStream.__name__}, usage on the span"
        f" {attributes.get(INPUT_TOKENS)} in / {attributes.get(OUTPUT_TOKENS)} out (complete)"
    )


def check_restored(op: Operation) -> None:
    if op.owner.__dict__[op.method] is not op.original:
        raise SystemExit(f"{op.name}: {op.method} was not restored after uninstrumenting")


# --- measurement and report -----------------------------------------------------------------------------


def workloads(op: Operation, scale: int) -> tuple[Workload, Workload]:
    def run() -> int:
        return drain(op.stream_of(op.call()))

    recorded_batch, long_batch = max(RECORDED_BATCH // scale, 1), max(LONG_BATCH // scale, 1)
    return (
        Workload(f"{op.name} recorded", run, recorded_batch, len(op.recorded), replay(op, op.recorded)),
        Workload(f"{op.name} long", run, long_batch, len(op.long), replay(op, op.long)),
    )


@dataclass
class Figure:
    provider: str
    operation: str
    chunks: tuple[int, int]
    per_chunk: list[float]  # seconds, one per round
    ok: bool


def _median_iqr_us(values: list[float], digits: int) -> str:
    return f"{statistics.median(values) * 1e6:.{digits}f} ({_iqr(values) * 1e6:.{digits}f})"


def run_provider(name: str, rounds: int, scale: int) -> list[Figure]:
    processor = LastSpanProcessor()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(processor)
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    with contextlib.ExitStack() as stack:
        provider = BUILDERS[name](stack)
        module, cls = provider.instrumentor
        instrumentor = getattr(importlib.import_module(module), cls)()
        kwargs = {"tracer_provider": tracer_provider, "meter_provider": meter_provider}
        configs = [
            Config("none", "no instrumentation", lambda: None, lambda: None),
            Config(
                "llmledger",
                f"llmledger {_dist_version('llmledger')} {cls}",
                lambda: instrumentor.instrument(**kwargs),
                lambda: instrumentor.uninstrument(),
            ),
        ]

        print(f"\n=== {name}: {provider.sdk}; {configs[1].label}")
        for op in provider.operations:
            print(
                f"    {op.name}: tests/cassettes/{op.recording}\n"
                f"      {len(op.recorded)} chunks as recorded; long stream {len(op.long)}"
                f" ({op.content} content chunk{'s' if op.content > 1 else ''} × {op.repeats})"
            )
            print(f"      check: {check_calls(op, configs, processor)}")
        pairs = [workloads(op, scale) for op in provider.operations]
        loads = [load for pair in pairs for load in pair]
        print(
            f"    {rounds} rounds; in each, the fastest of {BATCHES} batches of {pairs[0][0].batch} recorded"
            f" and {pairs[0][1].batch} long streams per configuration and operation"
        )

        def after_uninstrument(config: Config) -> None:
            for op in provider.operations:
                check_restored(op)

        started = time.perf_counter()
        checks = measure(configs, loads, rounds, processor, after_uninstrument=after_uninstrument)
        elapsed = time.perf_counter() - started

    none, ours = configs
    figures = []
    print(
        f"\n    {'operation':<40}{'chunks':>12}{'baseline':>12}{'per stream call':>20}"
        f"{'per chunk':>18}  {'spans/op':<9} target"
    )
    print(
        f"    {'':<40}{'rec/long':>12}{'µs/chunk':>12}{'(recorded), µs':>20}"
        f"{'(replayed), µs':>18}  {'none/ours':<9} ≤ {CHUNK_TARGET_US} µs"
    )
    for op, (recorded, long) in zip(provider.operations, pairs, strict=True):
        spans = [checks[config.name][load.name][0] for config in configs for load in (recorded, long)]
        if spans != [0, 0, 1, 1]:
            raise SystemExit(f"{name} {op.name}: spans per call none/ours (recorded, long) {spans}, not 0 0 1 1")
        per_chunk = _slope(ours, none, recorded, long)
        base_chunk = [
            (bl - bs) / (long.chunks - recorded.chunks)
            for bs, bl in zip(none.results[recorded.name], none.results[long.name], strict=True)
        ]
        per_call = [c - b for c, b in zip(ours.results[recorded.name], none.results[recorded.name], strict=True)]
        ok = statistics.median(per_chunk) * 1e6 <= CHUNK_TARGET_US
        figures.append(Figure(name, op.name, (recorded.chunks, long.chunks), per_chunk, ok))
        print(
            f"    {op.name:<40}{f'{recorded.chunks}/{long.chunks}':>12}"
            f"{statistics.median(base_chunk) * 1e6:>12.3f}{_median_iqr_us(per_call, 1):>20}"
            f"{_median_iqr_us(per_chunk, 2):>18}  {'0/1':<9} {'PASS' if ok else 'MISS'}"
        )
    print(
        f"    (measured in {elapsed:.0f} s; median over rounds (IQR); per stream call: ours - none on the recorded"
        " stream, isolated)"
    )
    return figures


def available(name: str) -> str | None:
    """Why `name`'s SDK cannot be measured in this Python, or None if it can."""
    sdk = {"bedrock": "botocore", "cohere": "cohere", "ollama": "ollama", "mistral": "mistralai.client"}.get(name, name)
    try:
        importlib.import_module(sdk)
    except ImportError as error:
        return f"{sdk} is not installed in {sys.executable} ({error})"
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--provider", choices=(*PROVIDERS, "all"), default="all")
    parser.add_argument("--rounds", type=int, default=9, help="interleaved rounds (default 9)")
    parser.add_argument("--quick", action="store_true", help="a quarter of the batch sizes")
    args = parser.parse_args()
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # LiteLLM: no fetch of its price map on import
    print(
        f"Python {sys.version.split()[0]}, opentelemetry-sdk {_dist_version('opentelemetry-sdk')},"
        f" wrapt {_dist_version('wrapt')}, {os.cpu_count()} CPUs"
    )
    print(
        "  decoded chunks replayed; each batch instrumented and uninstrumented in turn (shuffled each pass);"
        " one TracerProvider (spans counted, dropped) and one MeterProvider (never collected) per provider"
    )
    names = PROVIDERS if args.provider == "all" else (args.provider,)
    figures: list[Figure] = []
    skipped: list[str] = []
    for name in names:
        why = available(name)
        if why is not None:
            if args.provider != "all":
                raise SystemExit(f"{name}: {why}")
            skipped.append(f"{name}: not measured: {why}")
            print(f"\n=== {name}: NOT MEASURED: {why}")
            continue
        figures += run_provider(name, args.rounds, 4 if args.quick else 1)

    print(f"\nPer-chunk overhead (replayed), median of {args.rounds} rounds (IQR), target ≤ {CHUNK_TARGET_US} µs:")
    for figure in figures:
        print(
            f"  [{'PASS' if figure.ok else 'MISS'}] {figure.provider:<8} {figure.operation:<40}"
            f" {_median_iqr_us(figure.per_chunk, 2):>14} µs   ({figure.chunks[0]}/{figure.chunks[1]} chunks)"
        )
    for line in skipped:
        print(f"  [----] {line}")


if __name__ == "__main__":
    main()
