# SPDX-License-Identifier: Apache-2.0
"""Wraps botocore for Bedrock (imported once `botocore` is): the one method every client operation goes through.

botocore makes each client class, and its methods, when the app creates a client; all of them send their request
through `BaseClient._make_api_call(operation_name, api_params)`. Wrapping that method covers every client, made
before or after instrumenting. Calls of other services and other Bedrock operations go straight through, after one
look at the client's service name.

A result is handed back as the SDK returned it, but for the two things that would otherwise be read only once:
an `InvokeModel` body, read here and replaced by one over the same bytes (`_buffer`), and an event stream,
replaced by the shared stream proxy, which records the call when the stream ends, however it ends.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from opentelemetry.instrumentation.utils import unwrap
from wrapt import wrap_function_wrapper

from .._shared import wrapping
from .._shared.config import Config
from .._shared.invocation import Invocation
from .._shared.streams import SyncStream
from .._shared.telemetry import Telemetry
from . import _buffer
from ._endpoints import METHOD, MODULE, OPERATIONS, SERVICE, STREAM_KEYS
from ._targets import Locator

_log = logging.getLogger(__name__)


def patch(telemetry: Telemetry, config: Config) -> None:
    locate = Locator(config)
    routes = {
        operation: wrapping.wrapper(endpoint, telemetry, locate, _ADAPTERS.get(operation))
        for operation, endpoint in OPERATIONS.items()
    }
    wrap_function_wrapper(MODULE, METHOD, _router(routes))


def unpatch() -> None:
    class_name, _, method = METHOD.partition(".")
    try:
        unwrap(getattr(importlib.import_module(MODULE), class_name), method)
    except (ImportError, AttributeError):
        _log.debug("llmledger: botocore's %s was not wrapped", METHOD)


def _router(routes: Mapping[str, Callable[..., Any]]) -> Callable[..., Any]:
    def make_api_call(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        operation, params = _arguments(args, kwargs)
        route = routes.get(operation) if isinstance(operation, str) else None
        if route is None or not isinstance(params, dict) or _service(instance) != SERVICE:
            return wrapped(*args, **kwargs)

        def send(**api_params: Any) -> Any:  # the recorded call, with the parameters as its keyword arguments
            return wrapped(operation, api_params)

        return route(send, instance, (), params)

    return make_api_call


def _arguments(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> tuple[Any, Any]:
    """`(operation_name, api_params)` however they were passed (botocore passes both positionally)."""
    if len(args) >= 2:
        return args[0], args[1]
    if len(args) == 1:
        return args[0], kwargs.get("api_params")
    return kwargs.get("operation_name"), kwargs.get("api_params")


def _service(client: Any) -> str | None:
    try:
        return client.meta.service_model.service_name  # type: ignore[no-any-return]
    except AttributeError:
        return None


def _invoke_adapt(invocation: Invocation, result: Any, endpoint: wrapping.Endpoint, streaming: bool) -> Any:
    """Read an `InvokeModel` body (JSON only) and give the app one over the same bytes; then record the call."""
    content = None
    if isinstance(result, dict) and "json" in str(result.get("contentType") or "").lower():
        try:
            result["body"], content = _buffer.take(result.get("body"))
        except BaseException as error:  # interrupted while the body arrived: what the app sees, recorded
            invocation.finish(error=error)
            raise
    invocation.finish(endpoint.read_response({**result, "body": content} if isinstance(result, dict) else {}))
    return result


def _stream_adapt(key: str, invocation: Invocation, result: Any, endpoint: wrapping.Endpoint, streaming: bool) -> Any:
    """Put the stream proxy in place of the result's event stream; the call is recorded when the stream ends."""
    stream = result.get(key) if isinstance(result, dict) else None
    if stream is None or endpoint.new_reader is None:
        invocation.finish(usage_complete=False)
        return result
    result[key] = SyncStream(stream, invocation, endpoint.new_reader())
    return result


_ADAPTERS: Mapping[str, wrapping.Adapt] = {
    "InvokeModel": _invoke_adapt,
    **{operation: partial(_stream_adapt, key) for operation, key in STREAM_KEYS.items()},
}
