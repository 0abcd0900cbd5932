# SPDX-License-Identifier: Apache-2.0
"""Making a recorded Bedrock request again through boto3, as the app that recorded it did.

vcrpy patches botocore's own HTTP connections, so a call goes through boto3's real stack (parameter validation,
SigV4 signing with fake keys, urllib3, response and event-stream parsing) and only the socket is replaced by the
recording. Each client is made for the region the interaction was recorded in.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import boto3
import vcr
import yaml
from botocore.config import Config

from tests.cassette_replay import CASSETTES, expected, interactions
from tests.instrumentation.features import needs

MATCH_ON = ["method", "scheme", "host", "port", "path"]
OPERATIONS = {
    "converse": "converse",
    "converse-stream": "converse_stream",
    "invoke": "invoke_model",
    "invoke-with-response-stream": "invoke_model_with_response_stream",
}
STREAM_KEYS = {"converse_stream": "stream", "invoke_model_with_response_stream": "body"}


def client(region: str = "us-east-1") -> Any:
    """A Bedrock Runtime client with fake keys that never retries (a retry would ask the recording again)."""
    return boto3.client(
        "bedrock-runtime",
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


def target(interaction: dict[str, Any]) -> tuple[str, str, str]:
    """(region, model id, client method) of a recorded request, read from its URL."""
    url = urlsplit(interaction["request"]["uri"])
    region = url.hostname.split(".")[1] if url.hostname else "us-east-1"
    model, _, operation = unquote(url.path.removeprefix("/model/")).rpartition("/")
    return region, model, OPERATIONS[operation]


def request_body(interaction: dict[str, Any]) -> bytes:
    body = interaction["request"]["body"]
    if isinstance(body, dict):
        body = body.get("string")
    if isinstance(body, str):
        body = body.encode()
    return body or b"{}"


def arguments(interaction: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """The keyword arguments that send the recorded request: Converse parameters are its JSON body, an
    `InvokeModel` body is sent as recorded."""
    _, model, method = target(interaction)
    body = request_body(interaction)
    if method.startswith("converse"):
        return {"modelId": model, **json.loads(body), **overrides}
    return {"modelId": model, "body": body, **overrides}


def send(interaction: dict[str, Any], **overrides: Any) -> Any:
    """Make the recorded request; its result, body or stream unread. The test is skipped on a botocore release
    without the operation (Converse came after InvokeModel)."""
    region, _, method = target(interaction)
    bedrock = client(region)
    needs(bedrock, method)
    return getattr(bedrock, method)(**arguments(interaction, **overrides))


def call(interaction: dict[str, Any], consume: Callable[[Any], Any] | None = None, **overrides: Any) -> Any:
    """Make the recorded request; a body or stream is read to its end (or handed to `consume`), as an app would."""
    result = send(interaction, **overrides)
    key = STREAM_KEYS.get(target(interaction)[2], "body")
    if key in result:
        (consume or _read)(result[key])
    return result


def _read(body: Any) -> Any:
    return body.read() if hasattr(body, "read") else list(body)


def cassette(file: str, repeats: bool = False) -> Any:
    """Serve `file`'s interactions, each once (or, with `repeats`, as often as asked)."""
    return vcr.use_cassette(
        str(CASSETTES / file), record_mode="none", match_on=MATCH_ON, allow_playback_repeats=repeats
    )


@contextmanager
def only_interaction(
    file: str, index: int, tmp_path: Path, edit: Callable[[dict[str, Any]], None] | None = None
) -> Iterator[dict[str, Any]]:
    """Serve one recorded interaction (changed by `edit`, if given) and nothing else; yields the interaction."""
    interaction = copy.deepcopy(interactions(file)[index])
    if edit is not None:
        edit(interaction)
    path = tmp_path / "one.yaml"
    path.write_text(yaml.dump({"version": 1, "interactions": [interaction]}))
    with vcr.use_cassette(str(path), record_mode="none", match_on=MATCH_ON):
        yield interaction


def row(file: str, index: int) -> dict[str, Any]:
    return next(r for r in expected()[file] if r["interaction_index"] == index)
