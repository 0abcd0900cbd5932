# SPDX-License-Identifier: Apache-2.0
"""Making a recorded request again through the installed google-genai SDK.

Recordings are matched by method and path, so the SDK must address the same resource: the Gemini API for
`generativelanguage.googleapis.com`, Vertex AI (with the recorded project, location and API version) for
`*-aiplatform.googleapis.com`. The recorded `contents` are sent again; the google_vertexai/vertexai recordings
were made by the older `vertexai` SDK over REST, whose endpoint google-genai calls in the same way.
"""

from __future__ import annotations

import asyncio
import json
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import vcr
import yaml
from google import genai
from google.genai import types
from google.oauth2.credentials import Credentials

from tests.cassette_replay import expected, interactions, request_json
from tests.instrumentation.features import needs

MATCH_ON = ["method", "scheme", "host", "port", "path"]

# The google_vertexai/vertexai recordings asked for `$alt=json;enum-encoding=int`, as the `vertexai` SDK does;
# google-genai never asks for that and cannot read numbered enums, and the server answers it with their names.
# The names of the numbers that occur (google.cloud.aiplatform.v1 protos); token counts are left untouched.
_ENUM_NAMES = {
    "finishReason": {1: "STOP", 2: "MAX_TOKENS"},
    "modality": {1: "TEXT", 2: "IMAGE"},
    "trafficType": {1: "ON_DEMAND"},
}


def _enum_names(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: _ENUM_NAMES[k].get(v, v) if k in _ENUM_NAMES and isinstance(v, int) else _enum_names(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_enum_names(v) for v in value]
    return value


def _as_google_genai_would_receive_it(interaction: dict[str, Any]) -> dict[str, Any]:
    body = interaction["response"]["body"]["string"]
    if not (isinstance(body, str) and body.lstrip().startswith("{")):
        return interaction
    named = json.dumps(_enum_names(json.loads(body)), indent=2)
    return {**interaction, "response": {**interaction["response"], "body": {"string": named}}}


def _same_method(r1: Any, r2: Any) -> None:
    """aiohttp recorded `post` in lower case; HTTP methods are case-insensitive."""
    assert r1.method.upper() == r2.method.upper()


_VCR = vcr.VCR(record_mode="none", match_on=MATCH_ON)
_VCR.register_matcher("method", _same_method)
_VERTEX = re.compile(r"https://[^/]+/(v1\w*)/projects/([^/]+)/locations/([^/]+)/publishers/google/models/([^:]+):")


def client_for(uri: str) -> genai.Client:
    vertex = _VERTEX.match(uri)
    if vertex is None:
        return genai.Client(api_key="test", http_options=types.HttpOptions(api_version=uri.split("/")[3]))
    version, project, location, _ = vertex.groups()
    return genai.Client(
        vertexai=True,
        project=project,
        location=location,
        credentials=Credentials(token="test"),  # a token that needs no refresh
        http_options=types.HttpOptions(api_version=version),
    )


def _model(uri: str) -> str:
    return uri.split("/models/")[1].split(":")[0]


def call(row: dict[str, Any], interaction: dict[str, Any]) -> Any:
    """Make the recorded request through the SDK, reading a stream to its end as an app would."""
    uri = interaction["request"]["uri"]
    body = request_json(interaction)
    client = client_for(uri)
    asynchronous = "async" in row["file"].rsplit("/", 1)[-1]
    endpoint = row["endpoint"]

    async def run_async() -> Any:
        aio = client.aio
        if endpoint == "generateContent":
            return await aio.models.generate_content(model=_model(uri), contents=body["contents"])
        if endpoint == "streamGenerateContent":
            return [
                c async for c in await aio.models.generate_content_stream(model=_model(uri), contents=body["contents"])
            ]
        if endpoint == "interactions":
            needs(aio, "interactions")
            return await aio.interactions.create(**body)
        raise AssertionError(endpoint)

    if asynchronous:
        return asyncio.run(run_async())
    models = client.models
    if endpoint == "generateContent":
        return models.generate_content(model=_model(uri), contents=body["contents"])
    if endpoint == "streamGenerateContent":
        return list(models.generate_content_stream(model=_model(uri), contents=body["contents"]))
    if endpoint == "batchEmbedContents":
        request = body["requests"][0]
        return models.embed_content(
            model=request["model"],
            contents=[part["text"] for part in request["content"]["parts"]],
            config=types.EmbedContentConfig(task_type=request.get("taskType")),
        )
    if endpoint == "cachedContents.create":
        return client.caches.create(
            model=body["model"],
            config=types.CreateCachedContentConfig(
                contents=body["contents"], ttl=body.get("ttl"), display_name=body.get("displayName")
            ),
        )
    if endpoint == "interactions":
        needs(client, "interactions")
        return client.interactions.create(**body)
    raise AssertionError(endpoint)


def serve(recorded: list[dict[str, Any]], directory: Path) -> Any:
    path = directory / "cassette.yaml"
    served = [_as_google_genai_would_receive_it(i) for i in recorded]
    path.write_text(yaml.safe_dump({"version": 1, "interactions": served}))
    return _VCR.use_cassette(str(path))


@contextmanager
def only_interaction(file: str, index: int, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Serve one recorded interaction (and nothing else) to the SDK; yields its expected.jsonl row."""
    row = next(r for r in expected()[file] if r["interaction_index"] == index)
    with serve([interactions(file)[index]], tmp_path):
        yield row


@contextmanager
def cassette(file: str) -> Iterator[None]:
    with tempfile.TemporaryDirectory() as directory, serve(interactions(file), Path(directory)):
        yield
