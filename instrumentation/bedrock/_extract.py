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
    attributes = _asked_tier(params)
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
    attributes, variant = served(result.get("serviceTier"))
    return Response(
        finish_reasons=[stop] if stop else None,
        usage=_usage.from_converse(result.get("usage")),
        attributes=attributes,
        output_messages=lambda: [message] if message is not None else [],
        price_variant=variant,
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
        {**_bodies.request_attributes(body), **_asked_tier(params)},
        lambda: _bodies.input_messages(body),
    )


def invoke_response(result: Mapping[str, Any]) -> Response:
    """An `InvokeModel` result whose `body` is the bytes of the response body (None when it was not read)."""
    body = _bodies.parse(result.get("body"))
    headers = (result.get("ResponseMetadata") or {}).get("HTTPHeaders")
    attributes, variant = served(result.get("serviceTier"))
    return Response(
        id=_bodies.response_id(body),
        model=_bodies.response_model(body),
        finish_reasons=_bodies.finish_reasons(body),
        usage=_usage.prefer(_usage.from_headers(headers), _bodies.usage(body)),
        attributes=attributes,
        output_messages=lambda: _bodies.output_messages(body),
        price_variant=variant,
    )


# --- service tiers -------------------------------------------------------------------------------------


def _tier(value: Any) -> str | None:
    """A service tier as Converse gives it (`{"type": "flex"}`) or `InvokeModel` (`"flex"`)."""
    return _str(value.get("type")) if isinstance(value, Mapping) else _str(value)


def _asked_tier(params: Mapping[str, Any]) -> dict[str, AttributeValue]:
    tier = _tier(params.get("serviceTier"))
    return {attr.AWS_BEDROCK_REQUEST_SERVICE_TIER: tier} if tier else {}


def served(tier: Any) -> tuple[dict[str, AttributeValue], tuple[tuple[str, str], ...]]:
    """The span attribute and price variant of the tier a response says served it.

    Bedrock bills its flex and priority tiers below and above the standard rate; genai-prices has no Bedrock tier
    prices yet, so the variant finds the standard price (and `llmledger.price.variant` stays unset) until it has.
    """
    name = _tier(tier)
    if not name:
        return {}, ()
    return {attr.AWS_BEDROCK_RESPONSE_SERVICE_TIER: name}, ((("service_tier", name),) if name != "default" else ())
