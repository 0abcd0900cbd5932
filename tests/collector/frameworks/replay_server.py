# SPDX-License-Identifier: Apache-2.0
"""An OpenAI-compatible server on loopback that answers from recorded traffic: each POST gets the next recorded
response of the cassette, in order, whatever the framework sent (their prompts differ from the recording's), and
the requests are kept so a test can say what the framework asked for.

Each server gives its responses ids of their own (the recorded id and a suffix), as a provider never answers two
calls with one id: the collector takes a second span with a known id for the same call."""

from __future__ import annotations

import gzip
import json
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.cassette_replay import interactions


class ReplayServer:
    """`with ReplayServer(cassette, count) as server:` serves the cassette's first `count` responses at
    `server.base_url` (`…/v1`), then answers 500; `answers` (cassette, interaction index) pairs serve those, in
    that order, each with its recorded content type (JSON or a server-sent event stream)."""

    def __init__(self, cassette: str = "", count: int = 0, answers: list[tuple[str, int]] | None = None) -> None:
        answers = answers if answers is not None else [(cassette, index) for index in range(count)]
        self._responses: list[tuple[str, bytes]] = []
        for cassette_file, index in answers:
            suffix = uuid.uuid4().hex[:8]
            self._responses.append(_with_id(interactions(cassette_file)[index], suffix))
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
        """The id of each response ('' where a response has none, as an embedding)."""
        return [_first_id(body) for _, body in self._responses]

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
                content_type, body = replay._responses[index]
                self.send_response(200)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        return Handler


def _with_id(interaction: dict[str, Any], suffix: str) -> tuple[str, bytes]:
    """The recorded response's content type and body (decompressed), its id given `suffix` (every chunk's, in a
    stream)."""
    response = interaction["response"]
    headers = {key.lower(): value for key, value in response["headers"].items()}
    body = response["body"]["string"]
    body = body.encode() if isinstance(body, str) else body
    if "gzip" in (headers.get("content-encoding") or []):
        body = gzip.decompress(body)
    content_type = (headers.get("content-type") or ["application/json"])[0]
    recorded = _first_id(body)
    if recorded:
        body = body.replace(f'"{recorded}"'.encode(), f'"{recorded}-{suffix}"'.encode())
    return content_type, body


def _first_id(body: bytes) -> str:
    found = re.search(rb'"id"\s*:\s*"((?:chatcmpl|cmpl|resp|msg)-[^"]+)"', body)
    return found.group(1).decode() if found else ""
