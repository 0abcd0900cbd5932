# SPDX-License-Identifier: Apache-2.0
"""Wraps botocore for Bedrock (imported once `botocore` is): the client methods of the Bedrock Runtime operations.

botocore makes each client class, and its methods, when the app creates a client; every method sends its request
through `BaseClient._make_api_call(operation_name, api_params)`. Two hooks cover every client:

- **Clients made after instrumenting** get recording methods: `ClientCreator._create_api_method` is wrapped, so
  the Bedrock Runtime operations of a new client class record their calls. Being the client's own method, the
  recording is outside anything that wraps `_make_api_call`, and the request is sent with instrumentation
  suppressed beneath it: the official botocore instrumentation, which traces every AWS call and gives Bedrock
  calls GenAI usage of their own, leaves those calls to this span (its spans of other services stay), and the
  usage is never counted twice. (That is also what it does itself: HTTP spans beneath an AWS call are suppressed.)
- **Clients made before** are recorded at `_make_api_call`, after one look at the client's service name.

The methods made while instrumented look the operations up at each call, so uninstrumenting (or instrumenting
again with other providers) applies to clients made before that too.

A result is handed back as the SDK returned it, but for the two things that would otherwise be read only once:
an `InvokeModel` body, read here and replaced by one over the same bytes (`_buffer`), and an event stream,
replaced by the shared stream proxy, which records the call when the stream ends, however it ends.
"""

from __future__ import annotations

import functools
import importlib
import logging
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from opentelemetry.instrumentation.utils import is_instrumentation_enabled, suppress_instrumentation, unwrap
from wrapt import wrap_function_wrapper

from .._shared import wrapping
from .._shared.config import Config
from .._shared.invocation import Invocation
from .._shared.streams import SyncStream
from .._shared.telemetry import Telemetry
from . import _buffer
from ._endpoints import CREATE_METHOD, MAKE_API_CALL, MODULE, OPERATIONS, SERVICE, STREAM_KEYS
from ._targets import Locator

_log = logging.getLogger(__name__)

# The recording wrapper of each operation while instrumented; empty otherwise.
_routes: dict[str, Callable[..., Any]] = {}


def patch(telemetry: Telemetry, config: Config) -> None:
    locate = Locator(config)
    _routes.clear()
    _routes.update(
        (operation, wrapping.wrapper(endpoint, telemetry, locate, _ADAPTERS.get(operation)))
        for operation, endpoint in OPERATIONS.items()
    )
    wrap_function_wrapper(MODULE, MAKE_API_CALL, _make_api_call)
    wrap_function_wrapper(MODULE, CREATE_METHOD, _create_api_method)


def unpatch() -> None:
    _routes.clear()
    for target in (MAKE_API_CALL, CREATE_METHOD):
        class_name, _, method = target.partition(".")
        try:
            unwrap(getattr(importlib.import_module(MODULE), class_name), method)
        except (ImportError, AttributeError):
            _log.debug("llmledger: botocore's %s was not wrapped", target)


def _create_api_method(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: Any) -> Any:
    """A new client class's method; a recording one for the Bedrock Runtime operations."""
    method = wrapped(*args, **kwargs)
    try:
        operation, service = _method_of(*args, **kwargs)
    except TypeError:
        return method
    if operation not in OPERATIONS or service != SERVICE:
        return method

    @functools.wraps(method)
    def api_call(client: Any, *positional: Any, **params: Any) -> Any:
        route = _routes.get(operation)
        if route is None or positional:  # uninstrumented; or a misuse, which botocore answers itself
            return method(client, *positional, **params)

        def send(**api_params: Any) -> Any:
            with suppress_instrumentation():  # this call has its span: see the module docstring
                return method(client, **api_params)

        return route(send, client, (), params)

    return api_call


def _method_of(py_operation_name: str, operation_name: str, service_model: Any) -> tuple[str, str | None]:
    """(operation name, service name) of `ClientCreator._create_api_method`'s arguments."""
    return operation_name, getattr(service_model, "service_name", None)


def _make_api_call(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: Any) -> Any:
    """Every call of every client: those of the Bedrock Runtime operations of clients made before instrumenting
    are recorded here (the recording methods of later clients send theirs with instrumentation suppressed)."""
    operation, params = _arguments(args, kwargs)
    route = _routes.get(operation) if isinstance(operation, str) else None
    if (
        route is None
        or not isinstance(params, dict)
        or not is_instrumentation_enabled()  # e.g. beneath a recording method: already recorded
        or _service(instance) != SERVICE
    ):
        return wrapped(*args, **kwargs)

    def send(**api_params: Any) -> Any:
        with suppress_instrumentation():
            return wrapped(operation, api_params)

    return route(send, instance, (), params)


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
    reader = endpoint.new_reader()
    headers_read = getattr(reader, "served", None)
    if headers_read is not None:  # what the response's headers say, which its events do not repeat
        headers_read(result)
    result[key] = SyncStream(stream, invocation, reader)
    return result


_ADAPTERS: Mapping[str, wrapping.Adapt] = {
    "InvokeModel": _invoke_adapt,
    **{operation: partial(_stream_adapt, key) for operation, key in STREAM_KEYS.items()},
}
