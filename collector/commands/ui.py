# SPDX-License-Identifier: Apache-2.0
"""`llmledger ui`: the cost dashboard against any ClickHouse holding llmledger's tables, without a collector.

The same page the collector serves at `/ui`, here at `/` on its own port (loopback by default). Trace ids link
into Jaeger with `--jaeger-url` (or `$LLMLEDGER_JAEGER_URL`, as for `llmledger report`); with `--auth-token`
(or a file, or `$LLMLEDGER_AUTH_TOKEN`) the page's data needs that bearer token, which the page asks for.
Runs until interrupted (Ctrl-C or SIGTERM), then exits 0.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from ._options import UsageError, add_connection_options, connection_settings, reports_errors, require_data
from .report import JAEGER_URL_ENV

DEFAULT_PORT = 4320


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "ui",
        help="serve the cost dashboard (charts of spend, tokens, budgets and costly traces)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on [127.0.0.1]")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port; 0: any free [{DEFAULT_PORT}]")
    parser.add_argument("--jaeger-url", metavar="URL", help=f"Jaeger UI base URL, to link traces [${JAEGER_URL_ENV}]")
    parser.add_argument("--auth-token", metavar="TOKEN", help="token the data needs [$LLMLEDGER_AUTH_TOKEN]")
    parser.add_argument("--auth-token-file", metavar="FILE", type=Path, help="the token, in a file's first line")
    add_connection_options(parser)
    parser.set_defaults(func=reports_errors(run))


def run(args: argparse.Namespace, stop: threading.Event | None = None) -> int:
    from ..dashboard import Dashboard, client_runner
    from ..dashboard.server import DashboardServer
    from ..exporters.clickhouse.settings import open_client
    from ..receivers._access import read_token

    try:
        token = read_token(args.auth_token or os.environ.get("LLMLEDGER_AUTH_TOKEN"), args.auth_token_file)
    except ValueError as error:
        raise UsageError(str(error)) from None
    jaeger_url = args.jaeger_url or os.environ.get(JAEGER_URL_ENV) or ""
    stop = stop or threading.Event()
    with open_client(require_data(connection_settings(args))) as client:
        dashboard = Dashboard(client_runner(client), base="", jaeger_url=jaeger_url)
        try:
            server = DashboardServer(dashboard, args.host, args.port, token=token).start()
        except OSError as error:
            raise UsageError(f"cannot listen on {args.host}:{args.port}: {error.strerror or error}") from None
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        print(
            f"llmledger ui: the dashboard is at {server.url}" + (" (bearer token required)" if token else ""),
            file=sys.stderr,
            flush=True,
        )
        try:
            stop.wait()
        finally:
            server.stop()
    return 0
