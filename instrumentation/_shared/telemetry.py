# SPDX-License-Identifier: Apache-2.0
"""The tracer and metric instruments one instrumentor records with.

Instruments are created once, at `instrument()`, and closed over by the wrappers: nothing global, so two
instrumentors (or two tests) with different providers never share state.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.context import Context
from opentelemetry.metrics import CallbackOptions, Histogram, Meter, Observation
from opentelemetry.trace import NonRecordingSpan, SpanContext, Tracer, set_span_in_context
from opentelemetry.util.types import AttributeValue

from llmledger._core import attributes as attr
from llmledger.version import __version__

from .config import Config

_log = logging.getLogger(__name__)
_SCHEMA_URL = "https://opentelemetry.io/schemas/1.41.0"
# Bucket boundaries advised by the GenAI metric conventions.
_TOKEN_BUCKETS = [4**i for i in range(14)]
_DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]


@dataclass(frozen=True, slots=True)
class Telemetry:
    tracer: Tracer
    token_usage: Histogram
    duration: Histogram
    time_to_first_chunk: Histogram
    cost: CostTotals
    records: PendingRecords
    config: Config

    @classmethod
    def create(
        cls, scope: str, tracer_provider: Any = None, meter_provider: Any = None, config: Config | None = None
    ) -> Telemetry:
        tracer = trace.get_tracer(scope, __version__, tracer_provider, schema_url=_SCHEMA_URL)
        meter = metrics.get_meter(scope, __version__, meter_provider, schema_url=_SCHEMA_URL)
        cost = CostTotals.of(meter)
        return cls(
            tracer=tracer,
            token_usage=meter.create_histogram(
                attr.METRIC_TOKEN_USAGE,
                unit="{token}",
                description="Number of input and output tokens used.",
                explicit_bucket_boundaries_advisory=_TOKEN_BUCKETS,
            ),
            duration=meter.create_histogram(
                attr.METRIC_OPERATION_DURATION,
                unit="s",
                description="GenAI operation duration.",
                explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
            ),
            time_to_first_chunk=meter.create_histogram(
                attr.METRIC_TIME_TO_FIRST_CHUNK,
                unit="s",
                description="Time to the first chunk of a streamed response.",
                explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
            ),
            cost=cost,
            records=cost.pending,
            config=config or Config.from_env(),
        )


# A call's metric records: its telemetry, duration (s), time to first chunk (s), input and output tokens and cost
# (USD; None when unknown), the metric attributes and the identity of the call's span (what exemplars point at).
Record = tuple[
    Telemetry, float, float | None, int | None, int | None, float | None, Mapping[str, AttributeValue], SpanContext
]


_EMPTY = Context()  # what a record's span is made current in when its batch is recorded


class PendingRecords:
    """The metric records of finished calls, made a batch at a time.

    Right after an LLM SDK call has run (a millisecond of its own request building and parsing), the OpenTelemetry
    SDK's metric code and data are no longer in the CPU's caches, and the three histogram records made there cost
    far more than the same records made back to back. So a call queues its records (one deque append), and they
    are made `BATCH` calls at a time by the call that fills a batch, and always before a reader collects (the cost
    counter's callback drains the queue first): an export sees every call that finished before it, with the same
    values, attributes and exemplar links. What moves is an exemplar's timestamp: when its batch was recorded.
    A deque, because its appends and pops are atomic: no record is lost to threads draining at once.

    A record holds the span's `SpanContext`, never the span or a context holding it: a queued span would keep its
    attributes, lock and lists alive for up to `BATCH` calls, enough objects to make Python's garbage collector
    run several times as often during an app's calls, each run scanning the LLM SDK's young objects too.
    """

    BATCH = 32

    __slots__ = ("_queue",)

    def __init__(self) -> None:
        self._queue: deque[Record] = deque()

    def add(self, record: Record) -> None:
        queue = self._queue
        queue.append(record)
        if len(queue) >= self.BATCH:
            self.drain()

    def drain(self) -> None:
        pop = self._queue.popleft
        while True:
            try:
                telemetry, duration_s, ttfc, input_tokens, output_tokens, cost, attributes, span = pop()
            except IndexError:
                return
            try:
                # The call's span alone current, whatever the draining thread runs under.
                context = set_span_in_context(NonRecordingSpan(span), _EMPTY)
                telemetry.duration.record(duration_s, attributes, context)
                if ttfc is not None:
                    telemetry.time_to_first_chunk.record(ttfc, attributes, context)
                if input_tokens is not None:
                    telemetry.token_usage.record(input_tokens, {**attributes, attr.TOKEN_TYPE: "input"}, context)
                if output_tokens is not None:
                    telemetry.token_usage.record(output_tokens, {**attributes, attr.TOKEN_TYPE: "output"}, context)
                if cost is not None:
                    telemetry.cost.add(cost, attributes)
            except Exception:
                _log.debug("llmledger: failed to record a call's metrics", exc_info=True)


class CostTotals:
    """The USD cost counter's running totals per attribute set, reported by an observable counter.

    A synchronous `Counter.add` makes the SDK build a measurement, clean and hash its attributes and update an
    aggregation under a lock on every LLM call, about a tenth of our per-call cost. A monotonic counter exports
    exactly these running sums, so they are kept here (one dict probe under a lock per call) and handed to the
    SDK only when a reader collects. The one thing lost is exemplars (trace links) on this metric; the span
    itself carries the cost.

    One instance per meter: the SDK hands back the instrument registered first when the same name is created
    again on a meter (re-instrumenting), with the first callbacks, so the totals must outlive the instrumentor.
    """

    __slots__ = ("_lock", "_totals", "pending")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._totals: dict[tuple[tuple[str, AttributeValue], ...], list[Any]] = {}
        # The metric records of this meter's calls not made yet: made before every collection, in `observe`.
        self.pending = PendingRecords()

    @classmethod
    def of(cls, meter: Meter) -> CostTotals:
        with _REGISTRY_LOCK:
            totals = _COST_TOTALS.get(meter)
            if totals is None:
                totals = _COST_TOTALS[meter] = cls()
                meter.create_observable_counter(
                    attr.METRIC_COST,
                    callbacks=[totals.observe],
                    unit="[USD]",
                    description="Cost of GenAI operations in US dollars.",
                )
            return totals

    def add(self, amount: float, attributes: Mapping[str, AttributeValue]) -> None:
        # Keyed by the items in order: the invocation builds each set of metric attributes in one fixed order,
        # so the same set always gives the same key (and this is cheaper than a frozenset).
        key = tuple(attributes.items())
        with self._lock:
            entry = self._totals.get(key)
            if entry is None:
                self._totals[key] = [amount, dict(attributes)]
            else:
                entry[0] += amount

    def observe(self, _options: CallbackOptions) -> Iterable[Observation]:
        # Called as a reader collects, before the SDK reads the histograms: their queued records go in first.
        self.pending.drain()
        with self._lock:
            current = [(total, attributes) for total, attributes in self._totals.values()]
        return [Observation(total, attributes) for total, attributes in current]


_COST_TOTALS: weakref.WeakKeyDictionary[Meter, CostTotals] = weakref.WeakKeyDictionary()
_REGISTRY_LOCK = threading.Lock()
