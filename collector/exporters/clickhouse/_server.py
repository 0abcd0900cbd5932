# SPDX-License-Identifier: Apache-2.0
"""Child-process entry point that turns chdb-core's clickhouse-local into a loopback HTTP/TCP server.

Run only by `embedded.EmbeddedClickHouse`, as `python -m llmledger.collector.exporters.clickhouse._server`. It is a
separate process because chdb-core runs its engine once per process and holds a lock on the data directory;
a child can be stopped with SIGTERM without taking the caller down, and any client can talk to it over HTTP.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from xml.sax.saxutils import escape

# The keep-alive query must really use the sleeping column: a variant whose sleep is optimised away burns a core.
_KEEPALIVE = "SELECT sum(sleepEachRow(1)) FROM numbers(1000000000000) SETTINGS max_block_size = 1"


def _config(listen_host: str, http_port: int, tcp_port: int, extra: str = "") -> str:
    return (
        "<clickhouse>\n"
        f"  <listen_host>{escape(listen_host)}</listen_host>\n"
        f"  <http_port>{http_port}</http_port>\n"
        f"  <tcp_port>{tcp_port}</tcp_port>\n"
        f"{extra}"
        "</clickhouse>\n"
    )


def _die_with_parent(parent_pid: int) -> None:
    """Have the kernel SIGTERM us when the launching thread dies (Linux), so a killed collector leaves no orphan."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        sys.exit(1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="llmledger-clickhouse-server")
    parser.add_argument("--data", required=True)
    parser.add_argument("--run-dir", required=True)
    parser.add_argument("--listen-host", default="127.0.0.1")
    parser.add_argument("--http-port", type=int, required=True)
    parser.add_argument("--tcp-port", type=int, required=True)
    parser.add_argument("--parent-pid", type=int, help="stop when this process (the launcher) dies")
    parser.add_argument("--config-extra", help="a file of XML elements for config.xml (e.g. <remote_servers>)")
    args = parser.parse_args(argv)
    if args.parent_pid:
        _die_with_parent(args.parent_pid)

    data = os.path.abspath(args.data)
    run_dir = os.path.abspath(args.run_dir)
    os.makedirs(data, exist_ok=True)
    os.makedirs(run_dir, exist_ok=True)
    # Importing chdb opens (and closes) an in-memory engine that reads ./config.xml: import it before the
    # working directory holds our config, or that engine would try to listen on our ports too.
    import chdb._chdb as engine

    extra = ""
    if args.config_extra:
        with open(args.config_extra, encoding="utf-8") as file:
            extra = file.read()
    with open(os.path.join(run_dir, "config.xml"), "w", encoding="utf-8") as file:
        file.write(_config(args.listen_host, args.http_port, args.tcp_port, extra))
    os.chdir(run_dir)
    # TabSeparated also becomes the HTTP default output format; clickhouse-connect's handshake needs it.
    result = engine.query(  # type: ignore[attr-defined]  # the untyped extension module
        f"SYSTEM START LISTEN HTTP; SYSTEM START LISTEN TCP; {_KEEPALIVE}", "TabSeparated", path=data
    )
    message = result.error_message() or result.bytes()[:500].decode(errors="replace")
    print(f"ClickHouse engine exited: {message}", file=sys.stderr, flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())
