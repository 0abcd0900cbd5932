# SPDX-License-Identifier: Apache-2.0
"""Wrapper factories: the one place where an SDK method, or a routing library's function (LiteLLM's), turns into
a recorded call.

The order never changes (start, call, on any exception record and re-raise it untouched, read, finish),
and our own failures are logged and swallowed so that instrumentation can never break the app.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.instrumentation.utils import is_instrumentation_enabled, unwrap
from wrapt import wrap_function_wrapper

from . import budget_policy
from .invocation import Invocation, Request, Response
from .streams import AsyncStream, StreamReader, SyncStream
from .telemetry import Telemetry

_log = logging.getLogger(__name__)

# Set in the context while the SDK call that an invocation records runs, so that code beneath it (an SDK's own
# tracing, a nested wrapper) can tell that this call already has its span.
_RECORDING_KEY = otel_context.create_key("llmledger-recording")
# Set while a call is recorded by an instrumentation of a library that routes calls to providers (LiteLLM): an SDK
# call it makes underneath is the same provider call, already recorded, and gets no span of its own.
_ROUTED_KEY = otel_context.create_key("llmledger-routed")


def call_context(invocation: Invocation) -> otel_context.Context:
    """The context to run a recorded SDK call in: the call marked as recorded, and its span current.

    A call whose span is still to come (the SDK may trace it itself, see `Endpoint.sdk_span`) runs with the caller's
    span current, as without llmledger, so that a span the SDK makes has the parent it would have had.
    """
    if not invocation.has_span:
        return otel_context.set_value(_RECORDING_KEY, invocation)
    return otel_context.set_value(_RECORDING_KEY, invocation, trace.set_span_in_context(invocation.span))


def recording() -> Invocation | None:
    """The invocation recording the SDK call that is running now, if any."""
    value = otel_context.get_value(_RECORDING_KEY)
    return value if isinstance(value, Invocation) else None


def routed_context(invocation: Invocation) -> otel_context.Context:
    """`call_context` of a call recorded by a routing library's instrumentation: the SDK calls it makes while it
    runs are passed through unrecorded (`routed`), so that one provider call has one span."""
    return otel_context.set_value(_ROUTED_KEY, True, call_context(invocation))


def routed() -> bool:
    """Whether the call running now was recorded already by a routing library's instrumentation."""
    return otel_context.get_value(_ROUTED_KEY) is True


@dataclass(frozen=True, slots=True)
class Target:
    """Who serves a client: the provider name and server address, plus what its endpoint accepts."""

    provider: str
    host: str | None = None
    port: int | None = None
    accepts_stream_options: bool = False


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One SDK method to wrap, and how to read its requests and results. Provider modules are tables of these."""

    module: str
    method: str  # "Class.method"
    read_request: Callable[[Mapping[str, Any]], Request]
    read_response: Callable[[Any], Response]
    new_reader: Callable[[], StreamReader] | None = None
    is_async: bool = False
    # Rewrites the call's kwargs (a copy, never the caller's dict), e.g. to ask for usage on streams.
    prepare: Callable[[dict[str, Any], Target, Telemetry], dict[str, Any]] | None = None
    # The names of the parameters the method also takes by position (`ollama.chat("llama3", messages)`), in
    # order: such a call is made with them as keywords, so that reading it sees them. Empty: keywords only.
    positional: tuple[str, ...] = ()
    # Whether the SDK makes this call's span itself (the Anthropic SDK's own tracing), asked of the resource the
    # method is called on: if so the invocation starts without a span, and the provider's hook into the SDK's tracing
    # gives it the SDK's span (`Invocation.adopt`) or has it start its own. None: llmledger's span, always.
    sdk_span: Callable[[Any], bool] | None = None


Locate = Callable[[Any], Target]
# Turns what the SDK returned into what the app receives: finishes the invocation or returns a proxy.
Adapt = Callable[[Invocation, Any, Endpoint, bool], Any]
# The three steps by which a wrapper records one call (`recorded`): start it from the instance the method is called
# on and the call's kwargs (its invocation and the kwargs to call with; None if it could not be started), the
# context the call runs in, and what the app receives from the call's result.
Start = Callable[[Any, dict[str, Any]], "tuple[Invocation, dict[str, Any]] | None"]
Enter = Callable[[Invocation], otel_context.Context]
Finish = Callable[[Invocation, Any], Any]


def instrument(
    endpoints: tuple[Endpoint, ...], telemetry: Telemetry, locate: Locate, adapt: Adapt | None = None
) -> None:
    for endpoint in endpoints:
        try:
            wrap_function_wrapper(endpoint.module, endpoint.method, wrapper(endpoint, telemetry, locate, adapt))
        except (ImportError, AttributeError):
            _log.debug("llmledger: %s.%s not in this SDK version", endpoint.module, endpoint.method)


def wrapper(endpoint: Endpoint, telemetry: Telemetry, locate: Locate, adapt: Adapt | None = None) -> Callable[..., Any]:
    """The wrapt wrapper that records calls of `endpoint` (`instrument` puts it in place; a provider that routes
    calls to its endpoints itself, as botocore sends every operation of every AWS service through one
    `BaseClient._make_api_call`, calls it with the wrapper's arguments)."""
    return recorded(
        starter(endpoint, telemetry, locate),
        call_context,
        finisher(endpoint, adapt or default_adapt),
        endpoint.positional,
        endpoint.is_async,
    )


def uninstrument(endpoints: tuple[Endpoint, ...]) -> None:
    import importlib

    for endpoint in endpoints:
        try:
            owner: Any = importlib.import_module(endpoint.module)
            class_name, _, method = endpoint.method.rpartition(".")
            for part in class_name.split(".") if class_name else ():
                owner = getattr(owner, part)
            unwrap(owner, method)
        except (ImportError, AttributeError):
            continue


def default_adapt(invocation: Invocation, result: Any, endpoint: Endpoint, streaming: bool) -> Any:
    if streaming and endpoint.new_reader is not None:
        proxy = AsyncStream if endpoint.is_async else SyncStream
        return proxy(result, invocation, endpoint.new_reader())
    invocation.finish(endpoint.read_response(result))
    return result


def starter(endpoint: Endpoint, telemetry: Telemetry, locate: Locate) -> Start:
    """How a call of `endpoint` starts being recorded: `start(instance, kwargs)` gives its invocation and the kwargs
    to call the SDK with, or None if that failed (logged).

    The budget policy in force (`budget_policy`) checks the call there, before the SDK sends anything; refusing it
    (`BudgetExceeded`) is the one exception we raise. Its hold is settled when the invocation finishes.
    """
    read_request, prepare, sdk_span = endpoint.read_request, endpoint.prepare, endpoint.sdk_span

    def start(instance: Any, kwargs: dict[str, Any]) -> tuple[Invocation, dict[str, Any]] | None:
        try:
            target = locate(instance)
            request = read_request(kwargs)
            call_kwargs = prepare(kwargs, target, telemetry) if prepare else kwargs
            span_later = sdk_span is not None and sdk_span(instance)
            invocation = Invocation(
                telemetry, target.provider, request, (target.host, target.port), span_later=span_later
            )
        except Exception:
            _log.debug("llmledger: could not start a span for %s", endpoint.method, exc_info=True)
            return None
        invocation.budget = budget_policy.check(invocation, call_kwargs)
        return invocation, call_kwargs

    return start


def finisher(endpoint: Endpoint, adapt: Adapt) -> Finish:
    """What the app receives from a call of `endpoint`: `adapt`'s answer (the invocation finished, or a proxy that
    finishes it); if reading the result fails (logged), the invocation is finished unread and the result returned
    as the SDK gave it."""

    def finish(invocation: Invocation, result: Any) -> Any:
        try:
            return adapt(invocation, result, endpoint, invocation.request.streaming)
        except Exception:
            _log.debug("llmledger: could not read the result of %s", endpoint.method, exc_info=True)
            invocation.finish()
            return result

    return finish


def as_keywords(
    names: tuple[str, ...], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """A call's positional arguments as the keywords `names` (a new dict). A call the method would refuse (more
    positions than names, or a name given both ways) is left as it is, for the SDK to raise its own error."""
    if len(args) > len(names) or any(name in kwargs for name in names[: len(args)]):
        return args, kwargs
    return (), {**dict(zip(names, args, strict=False)), **kwargs}


def recorded(
    start: Start, enter: Enter, finish: Finish, positional: tuple[str, ...], is_async: bool
) -> Callable[..., Any]:
    """The wrapt wrapper that records each call of a method (an SDK's, or a routing library's function) in the
    same order: `start` it, run it in the context `enter` gives, on any exception finish the invocation with it and
    re-raise it untouched, and return what `finish` makes of the result. The call passes through unrecorded while
    instrumentation is suppressed, beneath a routing library's recorded call (`routed`), or if it cannot be
    started. Positional arguments named in `positional` are passed as keywords, so that `start` reads them."""
    factory = _async_wrapper if is_async else _sync_wrapper
    return factory(start, enter, finish, positional)


def _sync_wrapper(start: Start, enter: Enter, finish: Finish, positional: tuple[str, ...]) -> Callable[..., Any]:
    def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if not is_instrumentation_enabled() or routed():
            return wrapped(*args, **kwargs)
        if args and positional:
            args, kwargs = as_keywords(positional, args, kwargs)
        started = start(instance, kwargs)
        if started is None:
            return wrapped(*args, **kwargs)
        invocation, call_kwargs = started
        token = otel_context.attach(enter(invocation))
        try:
            result = wrapped(*args, **call_kwargs)
        except BaseException as error:
            invocation.finish(error=error)
            raise
        finally:
            otel_context.detach(token)
        return finish(invocation, result)

    return wrapper


def _async_wrapper(start: Start, enter: Enter, finish: Finish, positional: tuple[str, ...]) -> Callable[..., Any]:
    async def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if not is_instrumentation_enabled() or routed():
            return await wrapped(*args, **kwargs)
        if args and positional:
            args, kwargs = as_keywords(positional, args, kwargs)
        started = start(instance, kwargs)
        if started is None:
            return await wrapped(*args, **kwargs)
        invocation, call_kwargs = started
        token = otel_context.attach(enter(invocation))
        try:
            result = await wrapped(*args, **call_kwargs)
        except BaseException as error:
            invocation.finish(error=error)
            raise
        finally:
            otel_context.detach(token)
        return finish(invocation, result)

    return wrapper
