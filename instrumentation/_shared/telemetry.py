# SPDX-License-Identifier: Apache-2.0
"""The tracer and metric instruments one instrumentor records with.

Instruments are created once, at `instrument()`, and closed over by the wrappers: nothing global, so two
instrumentors (or two tests) with different providers never share state.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.metrics import CallbackOptions, Histogram, Meter, Observation
from opentelemetry.trace import Tracer
from opentelemetry.util.types import AttributeValue

from ..version import __version__
from . import attributes as attr
from .config import Config

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
    config: Config

    @classmethod
    def create(
        cls, scope: str, tracer_provider: Any = None, meter_provider: Any = None, config: Config | None = None
    ) -> Telemetry:
        tracer = trace.get_tracer(scope, __version__, tracer_provider, schema_url=_SCHEMA_URL)
        meter = metrics.get_meter(scope, __version__, meter_provider, schema_url=_SCHEMA_URL)
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
            cost=CostTotals.of(meter),
            config=config or Config.from_env(),
        )


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

    __slots__ = ("_lock", "_totals")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._totals: dict[tuple[tuple[str, AttributeValue], ...], list[Any]] = {}

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
        with self._lock:
            current = [(total, attributes) for total, attributes in self._totals.values()]
        return [Observation(total, attributes) for total, attributes in current]


_COST_TOTALS: weakref.WeakKeyDictionary[Meter, CostTotals] = weakref.WeakKeyDictionary()
_REGISTRY_LOCK = threading.Lock()
