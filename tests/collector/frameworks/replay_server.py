# SPDX-License-Identifier: Apache-2.0
"""An OpenAI-compatible server on loopback that answers from recorded traffic: each POST gets the next recorded
response of the cassette, in order, whatever the framework sent (their prompts differ from the recording's), and
the requests are kept so a test can say what the framework asked for.

Each server gives its responses ids of their own (the recorded id and a suffix), as a provider never answers two
calls with one id: the collector takes a second span with a known id for the same call."""

from __future__ import annotations

import gzip
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.cassette_replay import interactions


class ReplayServer:
    """`with ReplayServer(cassette, count) as server:` serves the cassette's first `count` responses at
    `server.base_url` (`…/v1`), then answers 500."""

    def __init__(self, cassette: str, count: int) -> None:
        suffix = uuid.uuid4().hex[:8]
        self._responses = [_with_id(_body(interaction), suffix) for interaction in interactions(cassette)[:count]]
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.base_url = f"http://127.0.0.1:{self._server.server_port}/v1"

    def __enter__(self) -> ReplayServer:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def response_ids(self) -> list[str]:
        return [json.loads(body)["id"] for body in self._responses]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        replay = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                request = json.loads(self.rfile.read(length) or b"{}")
                with replay._lock:
                    index = len(replay.requests)
                    replay.requests.append({"path": self.path, **request})
                if index >= len(replay._responses):
                    self.send_error(500, "no recorded response left")
                    return
                body = replay._responses[index]
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        return Handler


def _body(interaction: dict[str, Any]) -> bytes:
    response = interaction["response"]
    body = response["body"]["string"]
    body = body.encode() if isinstance(body, str) else body
    encoding = {key.lower(): value for key, value in response["headers"].items()}.get("content-encoding") or []
    return gzip.decompress(body) if "gzip" in encoding else body


def _with_id(body: bytes, suffix: str) -> bytes:
    response = json.loads(body)
    response["id"] = f"{response['id']}-{suffix}"
    return json.dumps(response).encode()
