# SPDX-License-Identifier: Apache-2.0
"""The running collector: ClickHouse (given or embedded), schema, pipeline, forwarder and the two receivers.

`run(config)` opens the durable queue (replaying what an earlier run acknowledged but did not finish), then
blocks until SIGTERM or SIGINT: it stops accepting (receivers first), writes what is queued, forwards briefly,
commits both cursors, closes the queue, stops the embedded ClickHouse and returns 0. Everything is started from
the main thread, so the embedded server's stop-with-parent guard ties it to the collector's life.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import threading
import time
from types import FrameType
from typing import TypedDict

from clickhouse_connect.driver.client import Client

from llmledger._core import price_data, prices

from . import cycle_collector
from .budgets import STATUS_PATH, BudgetMonitor, sync
from .config import CollectorConfig, ConfigError
from .dashboard import Dashboard, client_runner
from .exporters.clickhouse.consumer import CONSUMER as STORE_CONSUMER
from .exporters.clickhouse.errors import ClickHouseError
from .exporters.clickhouse.writer import ClickHouseStore
from .exporters.forward import CONSUMER as FORWARD_CONSUMER
from .exporters.forward import Forwarder
from .extract.attributes import AttributeSelection
from .health import health_routes
from .pipeline.memory_limit import MemoryLimit, default_limit_mib
from .pipeline.pipeline import Pipeline
from .pipeline.queue import DiskQueue
from .pipeline.seen_spans import SeenSpans
from .receivers._access import BearerToken, read_token
from .receivers._rejections import Rejections
from .receivers._tls import TlsFiles
from .receivers.otlp_grpc import GrpcReceiver
from .receivers.otlp_http import HttpReceiver, Route
from .repricing.price_changes import PriceWatch

_log = logging.getLogger(__name__)


class _ReceiverLimits(TypedDict):
    """The keywords both receivers take alike, typed so that `**limits` is checked against each one's."""

    max_request_bytes: int
    token: BearerToken | None
    tls: TlsFiles | None
    rejections: Rejections


def run(config: CollectorConfig, stop: threading.Event | None = None) -> int:
    from .exporters.clickhouse import migrations
    from .exporters.clickhouse.client import connect
    from .exporters.clickhouse.cluster_schema import cluster_of
    from .exporters.clickhouse.embedded import EmbeddedClickHouse
    from .exporters.clickhouse.settings import default_data_dir

    stop = stop or threading.Event()
    _on_signals(stop)
    with contextlib.ExitStack() as stack:
        data_dir = config.data_dir or default_data_dir()
        timeout = config.clickhouse_timeout
        if config.clickhouse_url:
            url = config.clickhouse_url
            client = connect(
                url, user=config.clickhouse_user, password=config.clickhouse_password, send_receive_timeout=timeout
            )
        else:
            server = stack.enter_context(EmbeddedClickHouse(data_dir))
            url = server.url
            client = connect(url, send_receive_timeout=timeout)
        stack.callback(client.close)
        migrations.refuse_sql_only(client, config.database)  # its calls come from its spans: no second writer
        cluster = cluster_of(client, config.cluster) if config.cluster else None
        applied = migrations.apply(client, config.database, raw_spans=config.store_raw_spans, cluster=cluster)
        client.database = config.database

        # Load the price data now (a long import, holding the GIL) rather than under the first requests.
        if config.data_dir is not None:  # a refreshed price data file is looked for in the data directory given
            price_data.use_data_dir(config.data_dir)
        prices.lookup_ns("openai", "gpt-4o-mini", time.time_ns())

        forwarder = Forwarder(config.forward) if config.forward else None
        queue_dir = config.queue_dir or data_dir / "queue"
        queue = DiskQueue(
            queue_dir,
            (STORE_CONSUMER, FORWARD_CONSUMER) if forwarder else (STORE_CONSUMER,),
            max_bytes=config.queue_max_bytes,
            fsync="interval" if config.queue_fsync == "interval" else "batch",
            fsync_interval=config.queue_fsync_interval,
            sheddable=(FORWARD_CONSUMER,),
        )
        stack.callback(queue.close)  # if the pipeline never started; closing twice is harmless
        backlog = queue.size()
        store = ClickHouseStore(client)
        memory_limit = default_limit_mib() if config.memory_limit_mib is None else config.memory_limit_mib
        pipeline = Pipeline(
            store,
            queue,
            batch_size=config.batch_size,
            flush_interval=config.flush_interval,
            store_raw_spans=config.store_raw_spans,
            forwarder=forwarder,
            attributes=AttributeSelection.of(config.attributes),
            extract_workers=config.extract_workers,
            memory_limit=MemoryLimit(memory_limit << 20 if memory_limit else None),
            duplicate_settle=config.duplicate_settle,
        ).start()
        stack.callback(pipeline.stop)  # after the receivers stop (callbacks run last-in, first-out)
        try:  # an exporter may re-send what an earlier run stored: let the duplicate filter know it
            pipeline.remember_stored(store.recent_call_keys(SeenSpans.CAPACITY))
        except ClickHouseError as error:
            _log.warning("cannot read recently stored calls; re-sent spans may be counted twice: %s", error)
        token, tls = receiver_access(config)
        rejections = Rejections()
        limits = _ReceiverLimits(
            max_request_bytes=config.max_request_bytes, token=token, tls=tls, rejections=rejections
        )
        grpc_receiver = GrpcReceiver(pipeline, config.host, config.grpc_port, **limits).start()
        stack.callback(grpc_receiver.stop)
        routes: dict[str, Route] = dict(health_routes(pipeline, client.ping, rejections))
        alert_channels = None
        if config.budgets_file is not None:
            monitor = _budget_monitor(client, config)
            stack.callback(monitor.stop)
            routes[STATUS_PATH] = monitor.handle_status
            alert_channels = monitor.channels
        # A change of the price of a model in use (price file, refreshed data): logged, and alerted once through
        # every channel the budget file names (webhook, Slack, Teams, e-mail).
        stack.callback(PriceWatch(client, channel=alert_channels).start().stop)
        dashboard = Dashboard(client_runner(client), jaeger_url=config.jaeger_url or "")
        routes.update(dashboard.routes())
        http_receiver = HttpReceiver(
            pipeline,
            config.host,
            config.http_port,
            routes=routes,
            query_routes=dashboard.query_routes(),
            open_paths=dashboard.page_paths,
            **limits,
        ).start()
        stack.callback(http_receiver.stop)
        secured = (" with TLS" if tls else "") + (", bearer token required" if token else "")
        http_base = f"{http_receiver.scheme}://{_address(config.host, http_receiver.port)}"
        _say(f"llmledger collector: OTLP/gRPC on {_address(config.host, grpc_receiver.port)}{secured}")
        _say(f"llmledger collector: OTLP/HTTP on {http_base}/v1/traces, /v1/metrics and /v1/logs{secured}")
        _say(f"llmledger collector: health on {http_base}/healthz, /readyz and /metrics; dashboard on {http_base}/ui")
        schema = f"migrations applied: {', '.join(applied)}" if applied else "schema up to date"
        raw = "; raw spans into otel_traces" if config.store_raw_spans else ""
        _say(f"llmledger collector: storing into {url} database {config.database} ({schema}){raw}")
        where = f"{config.extract_workers} worker processes" if config.extract_workers else "the receiving threads"
        how = "in C" if pipeline.extractor.native else "in Python (the C was not built: no C compiler at install)"
        _say(f"llmledger collector: extracting LLM calls on {where}, spans read and rows built {how}")
        if memory_limit:
            _say(f"llmledger collector: memory limit {memory_limit} MiB (past it, senders are asked to retry later)")
        if forwarder is not None:
            _say(f"llmledger collector: forwarding every span, metric and log to {config.forward}")
        else:
            _say("llmledger collector: metrics and logs are acknowledged, counted and dropped (no --forward target)")
        replay = f", replaying {backlog} bytes left by the last run" if backlog else ""
        _say(f"llmledger collector: queue in {queue_dir} (fsync per {config.queue_fsync}{replay})")
        if config.budgets_file is not None:
            _say(f"llmledger collector: budgets of {config.budgets_file} at {http_base}{STATUS_PATH}")

        cycle_collector.quiet()  # start-up done: keep the cycle collector out of receiving and writing
        stop.wait()
        _say("llmledger collector: stopping")
        stack.close()  # receivers, then queued writes and forwarding, then the queue, then ClickHouse
        stats = pipeline.stats
        _say(
            f"llmledger collector: stopped after {stats.requests} requests, {stats.spans} spans, "
            f"{stats.calls_written} LLM calls written ({stats.duplicates} duplicates dropped)"
        )
    return 0


def receiver_access(config: CollectorConfig) -> tuple[BearerToken | None, TlsFiles | None]:
    """The receivers' bearer token and TLS files, read and checked now (ConfigError names what is wrong)."""
    try:
        token = read_token(config.auth_token, config.auth_token_file)
        tls = TlsFiles(config.tls_cert, config.tls_key) if config.tls_cert and config.tls_key else None
        if tls is not None:
            tls.server_context()
    except ValueError as error:
        raise ConfigError(str(error)) from None
    return token, tls


def _budget_monitor(client: Client, config: CollectorConfig) -> BudgetMonitor:
    """Load and sync the budget file, and start evaluating it (a bad file stops the start: BudgetFileError)."""
    from llmledger._core.budget_file import load

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
