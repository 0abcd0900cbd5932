# SPDX-License-Identifier: Apache-2.0
"""`/healthz`, `/readyz` and `/metrics`: GET routes for the HTTP receiver's registry (`receivers.otlp_http`).

`/healthz` answers 200 while the process serves HTTP at all (a liveness probe: restart me if this fails).
`/readyz` answers 200 only when ClickHouse answers a ping and the pipeline says it can take more (a readiness
probe: send me traffic), else 503 with the reason, so a load balancer moves senders elsewhere instead of having
them collect 429s. `/metrics` is `exposition.render` of the pipeline's counters and the receivers' refusals.
"""

from __future__ import annotations

from collections.abc import Callable

from .exposition import CONTENT_TYPE, render
from .pipeline.pipeline import Pipeline
from .receivers._rejections import Rejections
from .receivers.otlp_http import Route

_TEXT = "text/plain; charset=utf-8"


def health_routes(
    pipeline: Pipeline, clickhouse_reachable: Callable[[], bool], rejections: Rejections
) -> dict[str, Route]:
    def healthz() -> tuple[int, str, bytes]:
        return 200, _TEXT, b"ok\n"

    def readyz() -> tuple[int, str, bytes]:
        try:
            reachable = clickhouse_reachable()
        except Exception as error:  # a probe must answer, whatever the driver raises
            reachable, reason = False, f"ClickHouse is not reachable: {error}"
        else:
            reason = "ClickHouse is not reachable"
        if reachable:
            ready, reason = pipeline.ready()
            if ready:
                return 200, _TEXT, b"ready\n"
        return 503, _TEXT, f"not ready: {reason}\n".encode()

    def metrics() -> tuple[int, str, bytes]:
        return 200, CONTENT_TYPE, render(pipeline.counters(), rejections.snapshot()).encode()

    return {"/healthz": healthz, "/readyz": readyz, "/metrics": metrics}
