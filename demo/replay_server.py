# SPDX-License-Identifier: Apache-2.0
"""A loopback HTTP server that answers like a provider's API, from recorded traffic.

No real API is reachable here, so the demo and the end-to-end tests point the unmodified OpenAI SDK at this
server (`OPENAI_BASE_URL`). A request is answered with the next recorded interaction for the same endpoint,
model and streaming mode (falling back to the endpoint alone), in recorded order, cycling; bodies go out as
recorded, decompressed, but for the response id, which gets the request's number: a provider never answers two
calls with one id, and the collector keeps one row per response id (a call answered twice from one recording
would otherwise be taken for one call reported twice).
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

CASSETTES = Path(__file__).resolve().parent.parent / "tests" / "cassettes"
_DROP_HEADERS = {"content-length", "transfer-encoding", "connection", "content-encoding", "set-cookie"}


@dataclass(frozen=True, slots=True)
class Recorded:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes  # decoded (never gzip)


Key = tuple[str, str | None, bool]  # endpoint, model, streamed


def load(files: Iterable[str | Path], successful_only: bool = False) -> dict[Key, list[Recorded]]:
    """Recorded responses by (endpoint, request model, streamed); also under (endpoint, None, streamed)."""
    by_key: dict[Key, list[Recorded]] = {}
    for file in files:
        path = Path(file) if Path(file).is_absolute() else CASSETTES / file
        with path.open() as stream:
            cassette = yaml.load(stream, Loader=getattr(yaml, "CLoader", yaml.Loader))
        for interaction in cassette["interactions"]:
            recorded = _response(interaction["response"])
            if successful_only and recorded.status >= 400:
                continue
            request = interaction["request"]
            model, streamed = _model_and_stream(request.get("body"))
            route = _route(urlsplit(request["uri"]).path)
            by_key.setdefault((route, model, streamed), []).append(recorded)
            by_key.setdefault((route, None, streamed), []).append(recorded)
    return by_key


def _model_and_stream(body: Any) -> tuple[str | None, bool]:
    if isinstance(body, dict):
        body = body.get("string")
    if isinstance(body, bytes):
        body = body.decode(errors="replace")
    try:
        data = json.loads(body) if body else {}
    except ValueError:
        return None, False
    if not isinstance(data, dict):
        return None, False
    model = data.get("model")
    return (model if isinstance(model, str) else None), data.get("stream") is True


def _route(path: str) -> str:
    for marker in ("/chat/completions", "/completions", "/embeddings", "/responses", "/messages"):
        if path.endswith(marker):
            return marker
    return path


def _response(response: dict[str, Any]) -> Recorded:
    body = response["body"]["string"]
    data = body.encode() if isinstance(body, str) else bytes(body)
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    headers = []
    for name, values in (response.get("headers") or {}).items():
        if name.lower() in _DROP_HEADERS:
            continue
        for value in values if isinstance(values, list) else [values]:
            headers.append((name, str(value)))
    return Recorded(int(response["status"]["code"]), tuple(headers), data)


_ID = re.compile(rb'"(?:id|responseId)"\s*:\s*"([^"]{1,200})"')


def _numbered(recorded: Recorded, number: int) -> Recorded:
    """`recorded` with its response id (the first `id` in its body, every chunk's in a stream) ending in `number`."""
    found = _ID.search(recorded.body)
    if found is None:
        return recorded
    quoted = b'"' + found.group(1) + b'"'
    return Recorded(recorded.status, recorded.headers, recorded.body.replace(quoted, quoted[:-1] + b'-%d"' % number))


class ReplayServer:
    """`with ReplayServer(files) as server:` serves on `server.url` until the block ends."""

    def __init__(
        self, files: Iterable[str | Path], host: str = "127.0.0.1", port: int = 0, successful_only: bool = False
    ) -> None:
        loaded = load(files, successful_only)
        self._cycles: dict[Key, Iterator[Recorded]] = {k: itertools.cycle(v) for k, v in loaded.items()}
        self._lock = threading.Lock()
        self.requests = 0
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="replay-server", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def next_response(self, path: str, body: bytes) -> Recorded | None:
        model, streamed = _model_and_stream(body)
        route = _route(path)
        with self._lock:
            self.requests += 1
            cycle = self._cycles.get((route, model, streamed)) or self._cycles.get((route, None, streamed))
            return next(cycle) if cycle is not None else None

    def start(self) -> ReplayServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                recorded = server.next_response(urlsplit(self.path).path, self.rfile.read(length))
                if recorded is not None:
                    recorded = _numbered(recorded, server.requests)
                if recorded is None:
                    body = json.dumps({"error": {"message": f"nothing recorded for {self.path}"}}).encode()
                    recorded = Recorded(404, (("Content-Type", "application/json"),), body)
                self.send_response(recorded.status)
                for name, value in recorded.headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(recorded.body)))
                self.end_headers()
                self.wfile.write(recorded.body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve recorded provider traffic on loopback.")
    parser.add_argument("cassettes", nargs="+", help="cassette files (relative to tests/cassettes or absolute)")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = ReplayServer(args.cassettes, port=args.port).start()
    print(server.url, flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
