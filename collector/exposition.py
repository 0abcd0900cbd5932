# SPDX-License-Identifier: Apache-2.0
"""The collector's own counters in the Prometheus text exposition format (version 0.0.4), for `GET /metrics`.

Names follow from `Pipeline.counters()` keys, so a counter the pipeline adds is exposed without a change here:

    received_spans            → llmledger_collector_received_spans_total                 (counter)
    received_metric_points    → llmledger_collector_received_metric_points_total         (counter)
    dropped_<reason>          → llmledger_collector_dropped_total{reason="<reason>"}     (counter)
    queue_bytes, queue_max_bytes → llmledger_collector_queue_bytes, …_queue_max_bytes    (gauges)
    consumer_lag_bytes_<name> → llmledger_collector_consumer_lag_bytes{consumer="<name>"} (gauge)

plus the receivers' refusals, `llmledger_collector_rejected_requests_total{protocol, reason}`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Final

CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
_PREFIX = "llmledger_collector_"
_GAUGES = frozenset(
    {"queue_bytes", "queue_max_bytes", "memory_resident_bytes", "memory_limit_bytes", "memory_in_flight_bytes"}
)
_LABELLED = (  # key prefix → (family, label, type)
    ("dropped_", "dropped_total", "reason", "counter"),
    ("consumer_lag_bytes_", "consumer_lag_bytes", "consumer", "gauge"),
)
_HELP = {
    "received_requests_total": "Trace export requests accepted by the receivers.",
    "received_spans_total": "Spans in accepted export requests.",
    "received_metric_requests_total": "Metrics export requests accepted (forwarded, or dropped without --forward).",
    "received_metric_points_total": "Metric data points in accepted metrics export requests.",
    "received_log_requests_total": "Logs export requests accepted (forwarded, or dropped without --forward).",
    "received_log_records_total": "Log records in accepted logs export requests.",
    "stored_calls_total": "LLM calls written to ClickHouse.",
    "forwarded_requests_total": "Requests (traces, metrics and logs) forwarded to the next hop.",
    "duplicate_spans_total": "LLM spans dropped as re-sends of spans already received.",
    "folded_spans_total": "LLM spans of a call another row holds (listed in llm_call_spans, not stored as calls).",
    "taken_back_calls_total": "Stored calls taken back from the rollups: another delivery of the call counts.",
    "write_errors_total": "Failed ClickHouse inserts (each retry counts).",
    "forward_errors_total": "Requests the forwarder gave up on.",
    "queue_bytes": "Bytes waiting in the queue.",
    "queue_max_bytes": "The queue's limit in bytes.",
    "memory_resident_bytes": "Resident memory of the collector and its workers (with --memory-limit-mib).",
    "memory_limit_bytes": "The collector's memory limit in bytes (--memory-limit-mib).",
    "memory_in_flight_bytes": "Memory reserved by the requests being received (their size times 4).",
    "consumer_lag_bytes": "Bytes a consumer of the queue has yet to commit.",
    "dropped_total": "Spans dropped by policy, by reason (forward_* reasons count requests, *_bytes reasons bytes).",
    "rejected_requests_total": "Requests the receivers refused, by protocol and reason.",
}
_NOT_NAME = re.compile(r"[^a-zA-Z0-9_]")


def render(counters: Mapping[str, float], rejections: Mapping[tuple[str, str], int]) -> str:
    """The exposition of `Pipeline.counters()` and `Rejections.snapshot()`."""
    families: dict[str, tuple[str, list[str]]] = {}

    def sample(family: str, kind: str, value: float, labels: str = "") -> None:
        families.setdefault(family, (kind, []))[1].append(f"{_PREFIX}{family}{labels} {_number(value)}")

    for key, value in counters.items():
        name = _NOT_NAME.sub("_", key)
        for prefix, family, label, kind in _LABELLED:
            if name.startswith(prefix) and len(name) > len(prefix):
                sample(family, kind, value, _labels({label: name[len(prefix) :]}))
                break
        else:
            if name in _GAUGES:
                sample(name, "gauge", value)
            else:
                sample(f"{name}_total", "counter", value)
    for (protocol, reason), value in sorted(rejections.items()):
        sample("rejected_requests_total", "counter", value, _labels({"protocol": protocol, "reason": reason}))
    families.setdefault("rejected_requests_total", ("counter", []))
    lines: list[str] = []
    for family, (kind, samples) in families.items():
        help_text = _HELP.get(family, f"llmledger collector {family.replace('_', ' ')}.")
        lines += [f"# HELP {_PREFIX}{family} {help_text}", f"# TYPE {_PREFIX}{family} {kind}", *samples]
    return "\n".join(lines) + "\n"


def _labels(labels: Mapping[str, str]) -> str:
    return "{" + ",".join(f'{name}="{_escape(value)}"' for name, value in labels.items()) + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    number = float(value)
    if math.isnan(number) or math.isinf(number):
        return "NaN" if math.isnan(number) else ("+Inf" if number > 0 else "-Inf")
    return str(int(number)) if number.is_integer() else repr(number)
