# SPDX-License-Identifier: Apache-2.0
"""`llmledger collector`: receive OTLP traces, store LLM calls (and optionally raw spans) in ClickHouse, forward.

Settings come from `--config FILE` (YAML), then `LLMLEDGER_*` environment variables, then these flags.
Without `--clickhouse-url` it runs the embedded ClickHouse of the data directory. Every request is acknowledged
only once it is in the durable queue (`--queue-dir`); what was not yet stored or forwarded is replayed on start.
"""

from __future__ import annotations

import argparse
from typing import Any

from ._options import EXIT_USAGE, reports_errors


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "collector",
        help="receive OTLP traces and store LLM costs in ClickHouse",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", metavar="FILE", help="YAML file of settings (keys as the flags, with _)")
    listen = parser.add_argument_group("receivers")
    listen.add_argument("--host", help="address to listen on [$LLMLEDGER_HOST, default: 127.0.0.1]")
    listen.add_argument("--grpc-port", type=int, metavar="PORT", help="OTLP/gRPC port (0: any) [default: 4317]")
    listen.add_argument("--http-port", type=int, metavar="PORT", help="OTLP/HTTP port (0: any) [default: 4318]")
    storage = parser.add_argument_group("ClickHouse (default: the embedded server of the data directory)")
    storage.add_argument("--clickhouse-url", metavar="URL", help="http[s]://host:port [$LLMLEDGER_CLICKHOUSE_URL]")
    storage.add_argument("--clickhouse-user", metavar="USER", help="[$LLMLEDGER_CLICKHOUSE_USER, default: default]")
    storage.add_argument("--clickhouse-password", metavar="PASSWORD", help="[$LLMLEDGER_CLICKHOUSE_PASSWORD]")
    storage.add_argument("--database", metavar="NAME", help="[$LLMLEDGER_CLICKHOUSE_DATABASE, default: llmledger]")
    storage.add_argument("--data-dir", metavar="DIR", help="data directory of the embedded ClickHouse")
    storage.add_argument(
        "--store-raw-spans",
        action="store_const",
        const=True,
        help="also store every span in otel_traces, as the OpenTelemetry Collector's ClickHouse exporter does",
    )
    storage.add_argument(
        "--cluster",
        metavar="NAME",
        help="ClickHouse is the cluster NAME of <remote_servers>, its schema applied with `llmledger schema apply "
        "--cluster NAME` (docs/cluster.md) [$LLMLEDGER_CLUSTER]",
    )
    storage.add_argument("--batch-size", type=int, metavar="ROWS", help="rows per insert [default: 50000]")
    storage.add_argument("--flush-interval", type=float, metavar="SECONDS", help="max wait before an insert [1]")
    storage.add_argument(
        "--duplicate-settle",
        type=float,
        metavar="SECONDS",
        help="take back, this long after storing them, calls another collector stored first (several collectors on "
        "one database, docs/cluster.md) [$LLMLEDGER_DUPLICATE_SETTLE, default: 60]",
    )
    parser.add_argument(
        "--extract-workers",
        type=int,
        metavar="N",
        help="worker processes that extract LLM calls from requests of 16 KiB or more, off the receiving threads "
        "[$LLMLEDGER_EXTRACT_WORKERS, default: 0, i.e. on the receiving threads]",
    )
    access = parser.add_argument_group("access and limits")
    access.add_argument(
        "--auth-token", metavar="TOKEN", help="bearer token both receivers require [$LLMLEDGER_AUTH_TOKEN]"
    )
    access.add_argument(
        "--auth-token-file", metavar="FILE", help="read the bearer token from FILE [$LLMLEDGER_AUTH_TOKEN_FILE]"
    )
    access.add_argument("--tls-cert", metavar="FILE", help="PEM certificate chain: serve TLS [$LLMLEDGER_TLS_CERT]")
    access.add_argument("--tls-key", metavar="FILE", help="PEM private key of --tls-cert [$LLMLEDGER_TLS_KEY]")
    access.add_argument(
        "--max-request-bytes",
        type=int,
        metavar="BYTES",
        help="largest request, compressed or decompressed [$LLMLEDGER_MAX_REQUEST_BYTES, default: 67108864]",
    )
    access.add_argument(
        "--memory-limit-mib",
        type=int,
        metavar="MIB",
        help="memory the collector may use: past it, requests are refused with a retry delay (HTTP 503, gRPC "
        "UNAVAILABLE) until memory is freed [$LLMLEDGER_MEMORY_LIMIT_MIB, default: half the machine's or the "
        "cgroup's memory, at most 2048; 0: no limit]",
    )
    queue = parser.add_argument_group("durable queue (a request is acknowledged once it is on disk here)")
    queue.add_argument("--queue-dir", metavar="DIR", help="[$LLMLEDGER_QUEUE_DIR, default: <data dir>/queue]")
    queue.add_argument(
        "--queue-max-bytes", type=int, metavar="BYTES", help="full: senders get 429 / RESOURCE_EXHAUSTED [1 GiB]"
    )
    queue.add_argument(
        "--queue-fsync",
        choices=("batch", "interval"),
        help="batch: fsync before acknowledging (default); interval: fsync every --queue-fsync-interval",
    )
    queue.add_argument("--queue-fsync-interval", type=float, metavar="SECONDS", help="[default: 1.0]")
    storage.add_argument(
        "--clickhouse-timeout", type=float, metavar="SECONDS", help="send/receive timeout of an insert [30]"
    )
    parser.add_argument(
        "--forward", metavar="URL", help="re-send every span unchanged to grpc://host:port or http://host:port"
    )
    parser.add_argument(
        "--attribute",
        dest="attributes",
        action="append",
        metavar="NAME",
        help="also store this span attribute in llm_calls.Attributes (repeatable) [$LLMLEDGER_ATTRIBUTES, "
        "comma-separated]; llmledger.custom.* attributes are always stored",
    )
    budgets = parser.add_argument_group("budgets")
    budgets.add_argument(
        "--budgets-file",
        metavar="FILE",
        help="budget file (YAML/JSON) to evaluate: GET /v1/budgets/status and alerts [$LLMLEDGER_BUDGETS_FILE]",
    )
    budgets.add_argument("--budget-interval", type=float, metavar="SECONDS", help="how often alerts are evaluated [15]")
    parser.add_argument(
        "--jaeger-url",
        metavar="URL",
        help="Jaeger UI base URL: the dashboard (/ui) links traces there [$LLMLEDGER_JAEGER_URL]",
    )
    parser.set_defaults(func=reports_errors(run))


def run(args: argparse.Namespace) -> int:
    import logging
    import sys

    from .. import service
    from ..config import ConfigError, load

    logging.basicConfig(level=logging.WARNING, format="llmledger collector: %(levelname)s %(name)s: %(message)s")
    flags = {
        name: getattr(args, name)
        for name in (
            "host",
            "grpc_port",
            "http_port",
            "clickhouse_url",
            "clickhouse_user",
            "clickhouse_password",
            "database",
            "data_dir",
            "store_raw_spans",
            "cluster",
            "forward",
            "batch_size",
            "flush_interval",
            "duplicate_settle",
            "max_request_bytes",
            "memory_limit_mib",
            "auth_token",
            "auth_token_file",
            "tls_cert",
            "tls_key",
            "queue_dir",
            "queue_max_bytes",
            "queue_fsync",
            "queue_fsync_interval",
            "clickhouse_timeout",
            "attributes",
            "budgets_file",
            "budget_interval",
            "extract_workers",
            "jaeger_url",
        )
    }
    try:
        config = load(args.config, flags)
        if config.forward:
            from ..exporters.forward import sender_for

            sender_for(config.forward)  # validate the URL before starting anything
        service.receiver_access(config)  # read the token and the certificate before starting anything
        if config.budgets_file is not None:
            from llmledger._core.budget_file import load as load_budgets

            load_budgets(config.budgets_file)  # BudgetFileError (a ValueError) names the file and the entry
        _check_prices_file()
    except (ConfigError, ValueError) as error:
        print(f"llmledger collector: {error}", file=sys.stderr)
        return EXIT_USAGE
    from ._ports import check_free, explain

    try:
        check_free(config)  # before starting ClickHouse: a busy port is said with its address and option
        return service.run(config)
    except OSError as error:
        print(f"llmledger collector: {explain(error, config)}", file=sys.stderr)
        return 1


def _check_prices_file() -> None:
    """Refuse to start on a price file that cannot be used: the collector would price calls without it.

    Raises ValueError saying `LLMLEDGER_PRICES_FILE=<path>`, where in the file (line and column, or the entry) and
    what is wrong. Once running, a file edited into a broken one is logged and genai-prices prices alone until it
    is fixed, as in the instrumentation.
    """
    import os
    from pathlib import Path

    from llmledger._core import prices

    path = os.environ.get(prices.PRICES_FILE_ENV)
    if not path:
        return
    try:
        prices.load_price_file(Path(path))
    except prices.PriceFileError as error:
        raise ValueError(prices.describe(error)) from None
