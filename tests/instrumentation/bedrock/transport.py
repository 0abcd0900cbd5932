# SPDX-License-Identifier: Apache-2.0
"""Recorded Bedrock replies served in-process through botocore's `before-send` event, for apps run in a child
process (under `opentelemetry-instrument`, in an environment without vcrpy).

A `before-send` handler that returns a response stands in for the HTTP send: botocore then parses that response
exactly as one from the network (headers, JSON, event-stream frames). The recorded-traffic tests go through the
real HTTP stack instead (sdk_calls.py).
"""

from __future__ import annotations

from typing import Any

from tests.cassette_replay import interactions

C = "bedrock/otel-contrib/botocore"
# Titan Text Lite through Converse: 8 in / 10 out.
CONVERSE = (f"{C}/test_converse_with_content.yaml", 0)
# Claude 3.5 Sonnet through the `us.` cross-region profile, streamed: 603 in / 146 out (invocation metrics).
PROFILE_STREAM = (f"{C}/test_invoke_model_with_response_stream_with_content_tool_call[anthropic.claude].yaml", 1)


def recorded(file: str, index: int) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of a recorded response."""
    response = interactions(file)[index]["response"]
    headers = {
        name: value[0] if isinstance(value, list) else value
        for name, value in response["headers"].items()
        if name.lower() not in ("transfer-encoding", "content-length", "set-cookie")
    }
    body = response["body"]["string"]
    return response["status"]["code"], headers, body.encode() if isinstance(body, str) else body


SERVE = """
import io
from botocore.awsrequest import AWSResponse

class _Raw(io.BytesIO):
    def stream(self, **_):
        while chunk := self.read(1024):
            yield chunk

def serve(replies):
    '''A `before-send` handler answering each operation with its recorded (status, headers, body).'''
    def reply(request, **kwargs):
        operation = kwargs["event_name"].rsplit(".", 1)[-1]
        status, headers, body = replies[operation]
        return AWSResponse(request.url, status, headers, _Raw(body))
    return reply
"""


def zero_code_app() -> str:
    """Source for an app with no telemetry code: a Converse call (Titan Text Lite) and a response stream through
    the `us.` profile of Claude 3.5 Sonnet, read to its end."""
    replies: dict[str, Any] = {
        "Converse": recorded(*CONVERSE),
        "InvokeModelWithResponseStream": recorded(*PROFILE_STREAM),
    }
    return f"""
{SERVE}
import boto3, json
client = boto3.client("bedrock-runtime", region_name="us-east-1",
    aws_access_key_id="testing", aws_secret_access_key="testing")
client.meta.events.register("before-send.bedrock-runtime", serve({replies!r}))
client.converse(modelId="amazon.titan-text-lite-v1", messages=[{{"role": "user", "content": [{{"text": "hi"}}]}}])
body = json.dumps({{"anthropic_version": "bedrock-2023-05-31", "max_tokens": 1024,
    "messages": [{{"role": "user", "content": "hi"}}]}})
streamed = client.invoke_model_with_response_stream(modelId="us.anthropic.claude-3-5-sonnet-20240620-v1:0", body=body)
for event in streamed["body"]:
    pass
"""


# The costs of the two calls: 8 × 0.15 + 10 × 0.20 = 3.2 µUSD; 603 × 3 + 146 × 15 = 3,999 µUSD.
ZERO_CODE_SPANS = ["chat amazon.titan-text-lite-v1", "chat us.anthropic.claude-3-5-sonnet-20240620-v1:0"]
ZERO_CODE_COSTS = [3.2e-6, 0.003999]
