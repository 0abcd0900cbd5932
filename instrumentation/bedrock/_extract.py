# SPDX-License-Identifier: Apache-2.0
"""Pure readers of Bedrock Runtime requests and responses: botocore's parameter and result dicts.

The Converse APIs have one shape for every model; `InvokeModel` carries the model family's own JSON in its body
(`_bodies`). Usage is what Bedrock bills (`_usage`): the Converse `usage`, or the headers of an `InvokeModel`
response, which win over the counts in its body.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.util.types import AttributeValue

from llmledger._core import attributes as attr

from .._shared.fields import text as _str
from .._shared.invocation import Request, Response, clean
from . import _bodies, _usage

_CONVERSE_PARAMS = {
    "maxTokens": attr.REQUEST_MAX_TOKENS,
    "temperature": attr.REQUEST_TEMPERATURE,
    "topP": attr.REQUEST_TOP_P,
    "stopSequences": attr.REQUEST_STOP_SEQUENCES,
}
_EXTRA_PARAMS = {"top_k": attr.REQUEST_TOP_K, "topK": attr.REQUEST_TOP_K}  # additionalModelRequestFields


# --- Converse and ConverseStream -----------------------------------------------------------------------


def converse_request(params: Mapping[str, Any]) -> Request:
    return _converse_request(params, streaming=False)


def converse_stream_request(params: Mapping[str, Any]) -> Request:
    return _converse_request(params, streaming=True)


def _converse_request(params: Mapping[str, Any], streaming: bool) -> Request:
    attributes: dict[str, AttributeValue] = {}
    for names, config in (
        (_EXTRA_PARAMS, params.get("additionalModelRequestFields")),
        (_CONVERSE_PARAMS, params.get("inferenceConfig")),
    ):
        if isinstance(config, Mapping):
            attributes.update(clean(dict(config), names))
    return Request("chat", _str(params.get("modelId")), streaming, attributes, lambda: _converse_input(params))


def _converse_input(params: Mapping[str, Any]) -> list[Any]:
    messages: list[Any] = []
    if params.get("system"):
        messages.append({"role": "system", "content": params["system"]})
    if isinstance(params.get("messages"), list):
        messages.extend(params["messages"])
    return messages


def converse_response(result: Mapping[str, Any]) -> Response:
    stop = _str(result.get("stopReason"))
    output = result.get("output")
    message = output.get("message") if isinstance(output, Mapping) else None
    return Response(
        finish_reasons=[stop] if stop else None,
        usage=_usage.from_converse(result.get("usage")),
        output_messages=lambda: [message] if message is not None else [],
    )


# --- InvokeModel and InvokeModelWithResponseStream -----------------------------------------------------


def invoke_request(params: Mapping[str, Any]) -> Request:
    return _invoke_request(params, streaming=False)


def invoke_stream_request(params: Mapping[str, Any]) -> Request:
    return _invoke_request(params, streaming=True)


def _invoke_request(params: Mapping[str, Any], streaming: bool) -> Request:
    model = _str(params.get("modelId"))
    body = _bodies.parse(params.get("body"))
    return Request(
        _bodies.operation(model, body),
        model,
        streaming,
        _bodies.request_attributes(body),
        lambda: _bodies.input_messages(body),
    )


def invoke_response(result: Mapping[str, Any]) -> Response:
    """An `InvokeModel` result whose `body` is the bytes of the response body (None when it was not read)."""
    body = _bodies.parse(result.get("body"))
    headers = (result.get("ResponseMetadata") or {}).get("HTTPHeaders")
    return Response(
        id=_bodies.response_id(body),
        model=_bodies.response_model(body),
        finish_reasons=_bodies.finish_reasons(body),
        usage=_usage.prefer(_usage.from_headers(headers), _bodies.usage(body)),
        output_messages=lambda: _bodies.output_messages(body),
    )
