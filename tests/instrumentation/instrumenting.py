# SPDX-License-Identifier: Apache-2.0
"""One provider's instrumentor switched on for a test and off after it: the `instrumented` fixture of each
provider's conftest, and the replay of its recorded interactions."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import pytest
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]

from tests.cassette_replay import expected, interactions


@contextmanager
def instrumenting(kind: type[BaseInstrumentor], tracer_provider: Any, meter_provider: Any) -> Iterator[Any]:
    """`kind` instrumenting the SDK with the test's providers, uninstrumented on leaving."""
    instrumentor = kind()
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    try:
        yield instrumentor
    finally:
        instrumentor.uninstrument()


def instrumented_fixture(kind: type[BaseInstrumentor]) -> Callable[..., Any]:
    """The `instrumented` fixture of a provider's tests: its SDK instrumented by `kind` for one test."""

    @pytest.fixture
    def instrumented(tracer_provider: Any, meter_provider: Any) -> Iterator[Any]:
        with instrumenting(kind, tracer_provider, meter_provider) as instrumentor:
            yield instrumentor

    instrumented.__doc__ = f"The SDK instrumented by {kind.__name__} for one test, restored afterwards."
    return instrumented


def recorded_files(provider: str) -> list[str]:
    """The cassette files that hold a call to `provider` (as expected.jsonl names it)."""
    return sorted(f for f, rows in expected().items() if any(r["provider"] == provider for r in rows))


def replayed(file: str, sdk: ModuleType, span_exporter: Any) -> Iterator[tuple[dict[str, Any], Mapping[str, Any]]]:
    """Each interaction of `file` made again through the real SDK (`sdk`: a test module with `cassette(file)` and
    `call(row, interaction)`), with what expected.jsonl says of it and the attributes of the one span it made."""
    recorded = interactions(file)
    with sdk.cassette(file):
        for row in expected()[file]:
            span_exporter.clear()
            sdk.call(row, recorded[row["interaction_index"]])
            (span,) = span_exporter.get_finished_spans()
            yield row, span.attributes
