# SPDX-License-Identifier: Apache-2.0
"""`llmledger clickhouse`: run only the embedded ClickHouse server, in the foreground, until SIGTERM or Ctrl-C.

For querying the data with other tools (clickhouse-client, Grafana, `llmledger sql`) without a collector, and
for development. The schema is brought up to date at start, so the server is usable straight away.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any

from ._options import EXIT_FAILURE, add_data_dir_option, connection_settings, reports_errors


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "clickhouse",
        help="run the embedded ClickHouse server in the foreground",
        description="Run the embedded ClickHouse server (from chdb-core) on loopback until SIGTERM or Ctrl-C.",
    )
    add_data_dir_option(parser)
    parser.add_argument("--http-port", type=int, default=8123, metavar="PORT", help="HTTP port (0: any free port)")
    parser.add_argument("--tcp-port", type=int, default=9000, metavar="PORT", help="native TCP port (0: any free)")
    parser.add_argument("--database", metavar="NAME", help="database to create the schema in [default: llmledger]")
    parser.add_argument("--raw-spans", action="store_true", help="also create the raw span table otel_traces")
    parser.set_defaults(func=reports_errors(run))


def run(args: argparse.Namespace) -> int:
    from ..exporters.clickhouse import migrations
    from ..exporters.clickhouse.client import connect
    from ..exporters.clickhouse.embedded import EmbeddedClickHouse

    settings = connection_settings(args)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with EmbeddedClickHouse(settings.data_dir, args.http_port, args.tcp_port) as server:
        client = connect(server.url)
        migrations.apply(client, settings.database, raw_spans=args.raw_spans)
        client.close()
        print(f"ClickHouse listening on {server.url} (HTTP) and 127.0.0.1:{server.tcp_port} (TCP)", flush=True)
        print(f"data in {server.clickhouse_path}; database {settings.database}; stop with Ctrl-C", flush=True)
        while not stop.wait(0.5):
            if not server.running:
                print(f"llmledger clickhouse: the server exited; see {server.log_path}", file=sys.stderr)
                return EXIT_FAILURE
    return 0
