# SPDX-License-Identifier: Apache-2.0
"""The tracer and metric instruments one instrumentor records with.

Instruments are created once, at `instrument()`, and closed over by the wrappers: nothing global, so two
instrumentors (or two tests) with different providers never share state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.metrics import Counter, Histogram
from opentelemetry.trace import Tracer

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
    cost: Counter
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
            cost=meter.create_counter(
                attr.METRIC_COST,
                unit="[USD]",
                description="Cost of GenAI operations in US dollars.",
            ),
            config=config or Config.from_env(),
        )
