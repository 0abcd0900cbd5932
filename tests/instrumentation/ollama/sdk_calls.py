# SPDX-License-Identifier: Apache-2.0
"""Making a recorded request again through the installed Ollama SDK, as the app that recorded it did.

The recordings were made against a local server at 127.0.0.1:11434, the SDK's default host, so the sync calls
go through the module-level functions (`ollama.chat(...)`, the default client) and the async ones through an
`AsyncClient()`, each with no host given, as most apps write them.
"""

from __future__ import annotations

import asyncio
from typing import Any

import ollama
import vcr

from tests.cassette_replay import CASSETTES, request_json

MATCH_ON = ["method", "scheme", "host", "port", "path"]
# The request fields the recording SDK (ollama-python 0.2) sent with empty defaults, which this SDK no longer
# takes or sends: dropping them leaves the same request.
_LEGACY_EMPTY = ("format", "system", "template", "context", "images", "raw", "keep_alive")


def cassette(file: str) -> Any:
    return vcr.use_cassette(str(CASSETTES / file), record_mode="none", match_on=MATCH_ON)


def _kwargs(body: dict[str, Any]) -> dict[str, Any]:
    kwargs = {k: v for k, v in body.items() if not (k in _LEGACY_EMPTY and not v)}
    if not kwargs.get("options"):
        kwargs.pop("options", None)
    return kwargs


def call(row: dict[str, Any], interaction: dict[str, Any]) -> Any:
    """Make the recorded request through the SDK, reading a stream to its end as an app would."""
    kwargs = _kwargs(request_json(interaction))
    name = row["endpoint"]  # "chat" or "generate"
    if "async" in row["file"].rsplit("/", 1)[-1]:

        async def run() -> Any:
            result = await getattr(ollama.AsyncClient(), name)(**kwargs)
            return [chunk async for chunk in result] if kwargs.get("stream") else result

        return asyncio.run(run())
    result = getattr(ollama, name)(**kwargs)
    return list(result) if kwargs.get("stream") else result
