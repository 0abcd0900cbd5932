# SPDX-License-Identifier: Apache-2.0
"""Making a recorded request again through the installed Cohere SDK, as the app that recorded it did."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import cohere
import vcr
from cohere.environment import ClientEnvironment

from tests.cassette_replay import CASSETTES, request_json
from tests.instrumentation.features import needs

MATCH_ON = ["method", "scheme", "host", "port", "path"]
# The SDK's own base URL on the host the recordings were made against (early 5.x releases default to
# `https://api.cohere.ai/v1`, later ones to `https://api.cohere.com`).
API = ClientEnvironment.PRODUCTION.value.replace("api.cohere.ai", "api.cohere.com")


def client_class(v2: bool, asynchronous: bool) -> Any:
    """The SDK's client for the v1 or v2 API; the test is skipped on a release without the v2 clients."""
    name = ("AsyncClient" if asynchronous else "Client") + ("V2" if v2 else "")
    needs(cohere, name)
    return getattr(cohere, name)


def cassette(file: str) -> Any:
    return vcr.use_cassette(str(CASSETTES / file), record_mode="none", match_on=MATCH_ON)


def _method(client: Any, endpoint: str, streaming: bool) -> tuple[Any, Any]:
    """The client's method for `endpoint` (`v1.chat`, `v2.rerank`, …): the bound one, and the class's own (whose
    signature names its parameters: the v1 client rebinds `chat` to a function taking anything)."""
    name = endpoint.split(".", 1)[1] + ("_stream" if streaming else "")
    return getattr(client, name), getattr(type(client), name)


def call(row: dict[str, Any], interaction: dict[str, Any]) -> Any:
    """Make the recorded request through the SDK, reading a stream to its end as an app would."""
    body = request_json(interaction)
    streaming = bool(body.pop("stream", False))
    asynchronous = "async" in row["file"].rsplit("/", 1)[-1]
    client = client_class(row["endpoint"].startswith("v2."), asynchronous)(api_key="test", base_url=API)
    method, declared = _method(client, row["endpoint"], streaming)
    accepted = set(inspect.signature(declared).parameters)
    kwargs = {k: v for k, v in body.items() if k in accepted}

    if asynchronous:

        async def run() -> Any:
            if streaming:
                return [event async for event in method(**kwargs)]
            return await method(**kwargs)

        return asyncio.run(run())
    return list(method(**kwargs)) if streaming else method(**kwargs)
