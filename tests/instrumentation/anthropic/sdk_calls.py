# SPDX-License-Identifier: Apache-2.0
"""Making a recorded request again through the installed Anthropic SDK, the way the recording app did.

The file name says how: `stream_manager` / `streaming_helper` recordings used `messages.stream()`, `async`
ones the async client, `bedrock` ones `AnthropicBedrock`; a `?beta=true` URL went through `beta.messages`.
Parameters this SDK has no argument for are sent in `extra_body`, as an app on this SDK would send them.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anthropic
import vcr
import yaml

from tests.cassette_replay import CASSETTES, expected, interactions, request_json
from tests.instrumentation.features import needs, needs_parameter

MATCH_ON = ["method", "scheme", "host", "port", "path"]


def client_for(file: str, asynchronous: bool, **options: Any) -> Any:
    if "bedrock" in file:
        cls = anthropic.AsyncAnthropicBedrock if asynchronous else anthropic.AnthropicBedrock
        needs_parameter(cls.__init__, "api_key")  # without it, Bedrock signs with AWS credentials (boto3)
        return cls(aws_region="us-east-1", api_key="test", max_retries=0, **options)
    cls = anthropic.AsyncAnthropic if asynchronous else anthropic.Anthropic
    return cls(api_key="test", max_retries=0, **options)


def kwargs_for(method: Any, body: dict[str, Any]) -> dict[str, Any]:
    accepted = set(inspect.signature(method).parameters)
    kwargs = {k: v for k, v in body.items() if k in accepted}
    extra = {k: v for k, v in body.items() if k not in accepted}
    if extra:
        kwargs["extra_body"] = extra
    return kwargs


def _style(file: str) -> str:
    name = file.rsplit("/", 1)[-1]
    return "helper" if "stream_manager" in name or "streaming_helper" in name else "create"


def call(row: dict[str, Any], interaction: dict[str, Any], **client_options: Any) -> Any:
    """Make the recorded request through the SDK, reading a stream to its end as an app would."""
    file = row["file"]
    body = request_json(interaction)
    if "bedrock" in file:
        body.pop("anthropic_version", None)
        body.setdefault("model", interaction["request"]["uri"].split("/model/")[1].split("/")[0])
    asynchronous = "async" in file.rsplit("/", 1)[-1]
    client = client_for(file, asynchronous, **client_options)
    messages = client.beta.messages if "beta=true" in interaction["request"]["uri"] else client.messages
    helper = _style(file) == "helper"
    if helper:
        body.pop("stream", None)
    if helper:
        needs(messages, "stream")
    method = messages.stream if helper else messages.create
    kwargs = kwargs_for(method, body)

    if asynchronous:

        async def run() -> Any:
            if helper:
                async with method(**kwargs) as stream:
                    result = await stream.get_final_message()
            else:
                result = await method(**kwargs)
                if body.get("stream"):
                    result = [event async for event in result]
            await client.close()
            return result

        return asyncio.run(run())
    if helper:
        with method(**kwargs) as stream:
            result = stream.get_final_message()
    else:
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
