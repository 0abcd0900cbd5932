# SPDX-License-Identifier: Apache-2.0
"""A loopback OTLP/HTTP receiver standing in for a forward target: it notes the span ids of every request."""

from __future__ import annotations

import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest


class OtlpReceiver:
    """Serves POST /v1/traces (protobuf) on `port` until closed; `spans` counts each span id received."""

    def __init__(self, port: int) -> None:
        self.spans: Counter[str] = Counter()
        lock = threading.Lock()
        spans = self.spans

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                request = ExportTraceServiceRequest.FromString(self.rfile.read(int(self.headers["Content-Length"])))
                with lock:
                    spans.update(
                        span.span_id.hex()
                        for resource_spans in request.resource_spans
                        for scope_spans in resource_spans.scope_spans
                        for span in scope_spans.spans
                    )
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def received(self) -> set[str]:
        return set(self.spans)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
