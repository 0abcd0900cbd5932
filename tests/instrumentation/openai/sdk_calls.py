# SPDX-License-Identifier: Apache-2.0
"""Making a recorded request again through the installed OpenAI SDK, as the app that recorded it did."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import openai
import vcr
import yaml

from tests.cassette_replay import CASSETTES, expected, interactions, request_json
from tests.instrumentation.features import needs

_SUFFIXES = {
    "chat.completions": "/chat/completions",
    "completions": "/completions",
    "embeddings": "/embeddings",
    "responses": "/responses",
}
MATCH_ON = ["method", "scheme", "host", "port", "path"]


def client_for(uri: str, endpoint: str, asynchronous: bool) -> Any:
    parts = urlsplit(uri)
    base = uri.split("?")[0][: -len(_SUFFIXES[endpoint])]
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    if ".openai.azure.com" in parts.netloc:
        cls = openai.AsyncAzureOpenAI if asynchronous else openai.AzureOpenAI
        return cls(base_url=base, api_version=query.get("api-version", "2024-02-01"), api_key="test", max_retries=0)
    cls = openai.AsyncOpenAI if asynchronous else openai.OpenAI
    return cls(base_url=base, api_key="test", max_retries=0, default_query=query or None)


def method_for(client: Any, endpoint: str) -> Any:
    """The client's `create` of `endpoint` (e.g. `chat.completions`); the test is skipped on an SDK release that
    has no such resource yet (`responses` before openai 1.66)."""
    resource = client
    for name in endpoint.split("."):
        needs(resource, name)
        resource = getattr(resource, name)
    return resource.create


def kwargs_for(method: Any, body: dict[str, Any]) -> dict[str, Any]:
    """The recorded JSON body as SDK keyword arguments; what this SDK has no parameter for goes in extra_body."""
    accepted = set(inspect.signature(method).parameters)
    kwargs = {k: v for k, v in body.items() if k in accepted}
    extra = {k: v for k, v in body.items() if k not in accepted}
    if extra:
        kwargs["extra_body"] = extra
    return kwargs


def call(row: dict[str, Any], interaction: dict[str, Any]) -> Any:
    """Make the recorded request through the SDK, reading a stream to its end as an app would."""
    body = request_json(interaction)
    asynchronous = "async" in row["file"].rsplit("/", 1)[-1]
    client = client_for(interaction["request"]["uri"], row["endpoint"], asynchronous)
    method = method_for(client, row["endpoint"])
    kwargs = kwargs_for(method, body)

    if asynchronous:

        async def run() -> Any:
            result = await method(**kwargs)
            if body.get("stream"):
                result = [chunk async for chunk in result]
            await client.close()
            return result

        return asyncio.run(run())
    result = method(**kwargs)
    if body.get("stream"):
        result = list(result)
    client.close()
    return result


@contextmanager
def only_interaction(file: str, index: int, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Serve one recorded interaction (and nothing else) to the SDK; yields its expected.jsonl row."""
    path = tmp_path / "one.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "interactions": [interactions(file)[index]]}))
    row = next(r for r in expected()[file] if r["interaction_index"] == index)
    with vcr.use_cassette(str(path), record_mode="none", match_on=MATCH_ON):
        yield row


def cassette(file: str) -> Any:
    return vcr.use_cassette(str(CASSETTES / file), record_mode="none", match_on=MATCH_ON)
