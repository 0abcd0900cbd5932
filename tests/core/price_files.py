# SPDX-License-Identifier: Apache-2.0
"""genai-prices data files for tests, made from the bundled snapshot, and a loopback HTTP server publishing them.

`bundled_raw()` is the bundled snapshot in the form genai-prices publishes its data file (a JSON list of
providers, as its loader reads it back); tests change one price in it (`with_price`) or break it. `publishing`
serves files on 127.0.0.1 the way genai-prices' site serves its data file, for `llmledger prices refresh`.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, time
from decimal import Decimal
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOGETHER_MIXTRAL = ("together", "mistralai/Mixtral-8x7B-Instruct-v0.1")  # $0.90 in the snapshot, $0.60 at Together


@lru_cache(maxsize=1)
def _bundled_json() -> str:
    from genai_prices import data_snapshot, types

    def raw(value: Any) -> Any:
        if isinstance(value, types.ModelPrice):
            return {key: raw(item) for key, item in vars(value).items() if item is not None and key[0] != "_"}
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            fields = ((field.name, getattr(value, field.name)) for field in dataclasses.fields(value))
            return {name.rstrip("_"): raw(item) for name, item in fields if item is not None and name[0] != "_"}
        if isinstance(value, list):
            return [raw(item) for item in value]
        if isinstance(value, dict):
            return {key: raw(item) for key, item in value.items()}
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, date | time):
            return value.isoformat()
        return value

    return json.dumps(raw(data_snapshot.get_snapshot().providers))


def bundled_raw() -> list[dict[str, Any]]:
    """The bundled snapshot as a data file's JSON document (a fresh copy each call)."""
    document: list[dict[str, Any]] = json.loads(_bundled_json())
    return document


def with_price(document: list[dict[str, Any]], provider: str, model: str, **prices: float) -> list[dict[str, Any]]:
    """`document` with `model` of `provider` at `prices` (USD per million tokens: input_mtok=…, output_mtok=…)."""
    changed = copy.deepcopy(document)
    (entry,) = (m for p in changed if p["id"] == provider for m in p["models"] if m["id"] == model)
    entry["prices"] = {**entry["prices"], **{key: str(value) for key, value in prices.items()}}
    return changed


def encoded(document: Any) -> bytes:
    return json.dumps(document).encode()


@contextmanager
def publishing(files: dict[str, bytes | int]) -> Iterator[str]:
    """Serve `files` (path → body, or an HTTP status to answer with) on a loopback port; yields the base URL.
    `files` may be changed while it runs."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = files.get(self.path, 404)
            if isinstance(body, int):
                self.send_error(body)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
