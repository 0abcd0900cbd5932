# SPDX-License-Identifier: Apache-2.0
"""Making a recorded request again through the installed `mistralai` SDK, as the app that recorded it did.

The recordings were made with mistralai 1.9; its calls (`chat.complete`, `chat.stream_async`,
`embeddings.create`, …) take the same arguments in the installed release, where the embeddings' `input` is
named `inputs`.
"""

from __future__ import annotations

import asyncio
from typing import Any

import vcr
from mistralai.client import Mistral

from tests.cassette_replay import CASSETTES, request_json

MATCH_ON = ["method", "scheme", "host", "port", "path"]


def cassette(file: str) -> Any:
    return vcr.use_cassette(str(CASSETTES / file), record_mode="none", match_on=MATCH_ON)


def call(row: dict[str, Any], interaction: dict[str, Any]) -> Any:
    """Make the recorded request through the SDK, reading a stream to its end as an app would."""
    body = request_json(interaction)
    streaming = bool(body.pop("stream", False))
    client = Mistral(api_key="test")
    if row["endpoint"] == "embeddings":
        resource, name, kwargs = client.embeddings, "create", {"model": body["model"], "inputs": body["input"]}
    else:
        resource, name, kwargs = client.chat, "stream" if streaming else "complete", body
    if "async" in row["file"].rsplit("/", 1)[-1]:

        async def run() -> Any:
            result = await getattr(resource, f"{name}_async")(**kwargs)
            return [event async for event in result] if streaming else result

        return asyncio.run(run())
    result = getattr(resource, name)(**kwargs)
    return list(result) if streaming else result
