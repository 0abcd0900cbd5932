# SPDX-License-Identifier: Apache-2.0
"""The running collector: ClickHouse (given or embedded), schema, pipeline, forwarder and the two receivers.

`run(config)` blocks until SIGTERM or SIGINT, then stops the receivers, writes what is pending, drains the
forwarder briefly, stops the embedded ClickHouse and returns 0. Everything is started from the main thread,
so the embedded server's stop-with-parent guard ties it to the collector's life.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import threading
import time
from types import FrameType

from clickhouse_connect.driver.client import Client

from llmledger.instrumentation._shared import prices

from .budgets import STATUS_PATH, BudgetMonitor, sync
from .config import CollectorConfig
from .extract.attributes import AttributeSelection
from .forward import Forwarder
from .pipeline import Pipeline
from .receivers.otlp_grpc import GrpcReceiver
from .receivers.otlp_http import HttpReceiver, Route
from .store import ClickHouseStore

_log = logging.getLogger(__name__)


def run(config: CollectorConfig, stop: threading.Event | None = None) -> int:
    from .clickhouse import migrations
    from .clickhouse.client import connect
    from .clickhouse.embedded import EmbeddedClickHouse
    from .clickhouse.settings import default_data_dir

    stop = stop or threading.Event()
    _on_signals(stop)
    with contextlib.ExitStack() as stack:
        if config.clickhouse_url:
            url = config.clickhouse_url
            client = connect(url, user=config.clickhouse_user, password=config.clickhouse_password)
        else:
            server = stack.enter_context(EmbeddedClickHouse(config.data_dir or default_data_dir()))
            url = server.url
            client = connect(url)
        stack.callback(client.close)
        applied = migrations.apply(client, config.database, raw_spans=config.store_raw_spans)
        client.database = config.database

        # Load the price data now (~0.5 s of import holding the GIL) rather than under the first requests.
        prices.lookup_ns("openai", "gpt-4o-mini", time.time_ns())

        forwarder = Forwarder(config.forward).start() if config.forward else None
        if forwarder is not None:
            stack.callback(forwarder.stop)
        pipeline = Pipeline(
            ClickHouseStore(client),
            batch_size=config.batch_size,
            flush_interval=config.flush_interval,
            store_raw_spans=config.store_raw_spans,
            forwarder=forwarder,
            attributes=AttributeSelection.of(config.attributes),
        ).start()
        stack.callback(pipeline.stop)  # after the receivers stop (callbacks run last-in, first-out)
        grpc_receiver = GrpcReceiver(pipeline, config.host, config.grpc_port).start()
        stack.callback(grpc_receiver.stop)
        routes: dict[str, Route] = {}
        if config.budgets_file is not None:
            monitor = _budget_monitor(client, config)
            stack.callback(monitor.stop)
            routes[STATUS_PATH] = monitor.handle_status
        http_receiver = HttpReceiver(pipeline, config.host, config.http_port, routes=routes).start()
        stack.callback(http_receiver.stop)
        _say(f"llmledger collector: OTLP/gRPC on {_address(config.host, grpc_receiver.port)}")
        _say(f"llmledger collector: OTLP/HTTP on http://{_address(config.host, http_receiver.port)}/v1/traces")
        schema = f"migrations applied: {', '.join(applied)}" if applied else "schema up to date"
        raw = "; raw spans into otel_traces" if config.store_raw_spans else ""
        _say(f"llmledger collector: storing into {url} database {config.database} ({schema}){raw}")
        if forwarder is not None:
            _say(f"llmledger collector: forwarding every span to {config.forward}")
        if routes:
            _say(
                f"llmledger collector: budgets of {config.budgets_file} at "
                f"http://{_address(config.host, http_receiver.port)}{STATUS_PATH}"
            )

        stop.wait()
        _say("llmledger collector: stopping")
        stack.close()  # receivers, then pending writes, then forwarding, then ClickHouse
        stats = pipeline.stats
        _say(
            f"llmledger collector: stopped after {stats.requests} requests, {stats.spans} spans, "
            f"{stats.calls_written} LLM calls written ({stats.duplicates} duplicates dropped)"
        )
    return 0


def _budget_monitor(client: Client, config: CollectorConfig) -> BudgetMonitor:
    """Load and sync the budget file, and start evaluating it (a bad file stops the start: BudgetFileError)."""
    from llmledger.instrumentation.budgets import load

    assert config.budgets_file is not None
    budgets = load(config.budgets_file)
    sync(client, budgets)
    return BudgetMonitor(client, budgets, interval=config.budget_interval).start()


def _on_signals(stop: threading.Event) -> None:
    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, handler)


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _say(message: str) -> None:
    print(message, file=sys.stdout, flush=True)
