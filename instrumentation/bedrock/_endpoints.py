# SPDX-License-Identifier: Apache-2.0
"""What the Bedrock instrumentor records: the Bedrock Runtime operations, by their botocore operation name.

botocore generates each client's methods when the client is made, all of them sending their request through
`BaseClient._make_api_call(operation_name, api_params)`; `_patch` hooks both and routes the operations below to
their `Endpoint`. A method's keyword arguments (botocore's `api_params`) are what an endpoint reads.
"""

from __future__ import annotations

from collections.abc import Mapping

from .._shared.wrapping import Endpoint
from . import _extract as x
from ._streams import ConverseStreamReader, InvokeStreamReader

SERVICE = "bedrock-runtime"
MODULE = "botocore.client"
MAKE_API_CALL = "BaseClient._make_api_call"
CREATE_METHOD = "ClientCreator._create_api_method"

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
