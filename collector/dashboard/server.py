# SPDX-License-Identifier: Apache-2.0
"""A small HTTP server for the dashboard alone (`llmledger ui`): the page at `/`, its data at `/api/data`.

The stdlib `ThreadingHTTPServer`, bound to loopback unless told otherwise; with a token, the data route needs
`Authorization: Bearer TOKEN` (401 otherwise), as on the collector. Only GET (and HEAD of the page) are
served; anything else is 405, an unknown path 404.
"""

from __future__ import annotations

import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ..receivers._access import BearerToken
from .routes import Answer, Dashboard

_log = logging.getLogger(__name__)


class DashboardServer:
    def __init__(
        self, dashboard: Dashboard, host: str = "127.0.0.1", port: int = 0, *, token: BearerToken | None
    ) -> None:
        pages, queries = dashboard.routes(), dashboard.query_routes()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "llmledger-ui"

            def do_GET(self) -> None:
                path, _, query = self.path.partition("?")
                answer: Answer
                if path in pages:
                    answer = pages[path]()
                elif path in queries:
                    if token is not None and not token.allows(self.headers.get("Authorization")):
                        self._send((401, "text/plain; charset=utf-8", b"a bearer token is required\n"), auth=True)
                        return
                    try:
                        answer = queries[path](query)
                    except Exception:
                        _log.exception("GET %s failed", path)
                        answer = (500, "text/plain; charset=utf-8", b"internal error; see the log\n")
                else:
                    answer = (404, "text/plain; charset=utf-8", f"no page {path}; the dashboard is at /\n".encode())
                self._send(answer)

            def do_POST(self) -> None:
                self._send((405, "text/plain; charset=utf-8", b"the dashboard only answers GET\n"))

            do_PUT = do_DELETE = do_PATCH = do_POST

            def _send(self, answer: Answer, *, auth: bool = False) -> None:
                status, content_type, body = answer
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                if auth:
                    self.send_header("WWW-Authenticate", "Bearer")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                _log.debug("%s " + format, self.address_string(), *args)

        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        server_class: type[ThreadingHTTPServer] = type(
            "DashboardHttpServer",
            (ThreadingHTTPServer,),
            {"daemon_threads": True, "address_family": family, "request_queue_size": socket.SOMAXCONN},
        )
        self._server = server_class((host, port), Handler)
        self.host = host
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="llmledger-ui", daemon=True)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def start(self) -> DashboardServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
