# SPDX-License-Identifier: Apache-2.0
"""What the Bedrock instrumentor records: the Bedrock Runtime operations, by their botocore operation name.

botocore generates each client's methods when the client is made, and every one of them calls
`BaseClient._make_api_call(operation_name, api_params)`, so that one method is wrapped (`_patch`) and routes the
operations below to their `Endpoint`; the `api_params` are what an endpoint reads as its call's arguments.
"""

from __future__ import annotations

from collections.abc import Mapping

from .._shared.wrapping import Endpoint
from . import _extract as x
from ._streams import ConverseStreamReader, InvokeStreamReader

SERVICE = "bedrock-runtime"
MODULE = "botocore.client"
METHOD = "BaseClient._make_api_call"

OPERATIONS: Mapping[str, Endpoint] = {
    "Converse": Endpoint(MODULE, "BedrockRuntime.converse", x.converse_request, x.converse_response),
    "ConverseStream": Endpoint(
        MODULE, "BedrockRuntime.converse_stream", x.converse_stream_request, x.converse_response, ConverseStreamReader
    ),
    "InvokeModel": Endpoint(MODULE, "BedrockRuntime.invoke_model", x.invoke_request, x.invoke_response),
    "InvokeModelWithResponseStream": Endpoint(
        MODULE,
        "BedrockRuntime.invoke_model_with_response_stream",
        x.invoke_stream_request,
        x.invoke_response,
        InvokeStreamReader,
    ),
}
# Where each streamed operation's result holds its event stream.
STREAM_KEYS: Mapping[str, str] = {"ConverseStream": "stream", "InvokeModelWithResponseStream": "body"}
