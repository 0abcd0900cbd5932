# SPDX-License-Identifier: Apache-2.0
"""Fixtures for the tests against the real Jaeger and OpenTelemetry Collector (see peers.py).

* `jaeger` — Jaeger v2 with docs/deployments/jaeger.yaml on free loopback ports (`Jaeger`), stopped after the test.
* `otelcol` — the path of the OpenTelemetry Collector binary.
* `fresh_database` — a function making an empty, uniquely named database on the session's ClickHouse (dropped
  after the test).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .peers import DEPLOYMENTS, Peer, free_ports, get_json, peer_binary, spans_of, start_peer

_JAEGER_PORTS = ("JAEGER_OTLP_GRPC_PORT", "JAEGER_OTLP_HTTP_PORT", "JAEGER_QUERY_HTTP_PORT", "JAEGER_QUERY_GRPC_PORT")


@dataclass
class Jaeger:
    peer: Peer

    @property
    def url(self) -> str:
        """The query service: the API and (with a UI bundle) the UI."""
        return f"http://127.0.0.1:{self.peer.ports['JAEGER_QUERY_HTTP_PORT']}"

    @property
    def otlp_grpc(self) -> str:
        return f"grpc://127.0.0.1:{self.peer.ports['JAEGER_OTLP_GRPC_PORT']}"

    def spans(self, trace_id: str, *, raw: bool = False) -> list[dict[str, Any]]:
        """The spans of a trace from /api/v3 (what the UI shows; `raw`: as stored, before Jaeger's adjusters);
        [] while Jaeger has none."""
        query = "?raw_traces=true" if raw else ""
        try:
            document = get_json(f"{self.url}/api/v3/traces/{trace_id}{query}")
        except OSError:  # 404 until the trace exists
            return []
        return list(spans_of(document.get("result", {})))


@pytest.fixture
def jaeger(tmp_path: Path) -> Iterator[Jaeger]:
    peer = start_peer(
        peer_binary("jaeger"),
        DEPLOYMENTS / "jaeger.yaml",
        dict(zip(_JAEGER_PORTS, free_ports(len(_JAEGER_PORTS)), strict=True)),
        tmp_path / "jaeger.log",
    )
    yield Jaeger(peer)
    peer.stop()


@pytest.fixture
def otelcol() -> Path:
    return peer_binary("otelcol")


@pytest.fixture
def fresh_database(clickhouse: Any) -> Iterator[Callable[[str], str]]:
    made: list[str] = []

    def make(stem: str) -> str:
        name = f"{stem}_{uuid.uuid4().hex[:8]}"
        made.append(name)
        return name

    yield make
    for name in made:
        clickhouse.client.command(f"DROP DATABASE IF EXISTS {name} SYNC")
