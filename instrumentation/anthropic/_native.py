# SPDX-License-Identifier: Apache-2.0
"""One span per call, whether or not the Anthropic SDK traces itself: the SDK's own, where it makes one.

The Anthropic SDK (2.x) traces each API call itself: `start_api_call_span` starts the call's span
(`anthropic.messages.create`) with the tracer of the provider the app chose (`open_telemetry={"tracer_provider":
…}`, else the global one), as a child of whatever span is current, and the SDK sends that span's trace context
(`traceparent`, `tracestate`, `baggage`) with each request. Its tool runner's spans are the parents of the calls it
makes. A second span for the same call would count its tokens twice, and holding the SDK's span off would lose the
propagation and the app's provider choice with it.

So the SDK's span is the call's span. When the SDK starts one for a call llmledger records (the call context
carries the invocation, see `wrapping.recording`), this hook hands it to the invocation (`Invocation.adopt`), which
records its usage, cost, price and attribution on it, and the SDK keeps tracing and propagating exactly as without
llmledger. The two share the span through two views of it:

- the SDK's view (`_SdkView`) holds its `end()` until llmledger has recorded the call too, and the span then ends
  at the time the SDK ended it;
- llmledger's view (`_LedgerView`) adds to it only what is llmledger's to say: the usage counts, the cost and the
  price it came from, the attribution, how the call was served (which prices it) and, when llmledger is asked to
  capture content, the content; values the SDK set stay as the SDK set them, except `gen_ai.provider.name`, which
  names what the cost was priced as. The rest (request parameters, which the SDK counts as content where they are,
  the response's id, model and stop reason, the time to first chunk, `error.type`, the status) is the SDK's.

The SDK ends the span of a stream when the app has read, closed or dropped its body. A stream the app reads
through llmledger's proxy ends llmledger's record right after; one whose body the app reads or closes itself
(`stream.response.iter_bytes()`) is ended with the SDK's end, with what llmledger's proxy had read (`follow`).

Where the SDK makes no span (its tracing off: `ANTHROPIC_OPEN_TELEMETRY=false`, `open_telemetry=False`), or one
that records nothing (no tracer provider anywhere: the global one is a no-op; or the sampler dropped it), the call
gets llmledger's own span, from llmledger's tracer provider, as before, and the SDK sends whatever trace context it
sends without llmledger. Every other API call (files, models, batches, …) is the SDK's alone, and with llmledger
uninstrumented the SDK traces exactly as before.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from typing import Any, cast

import wrapt
from opentelemetry.trace import Span, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from llmledger._core import attributes as attr

from .._shared import raw_responses
from .._shared.invocation import Invocation
from .._shared.streams import AsyncStream, SyncStream
from .._shared.wrapping import Endpoint, recording

_log = logging.getLogger(__name__)

MODULE = "anthropic._base_client"
FUNCTION = "start_api_call_span"

_RAW = frozenset({"APIResponse", "AsyncAPIResponse"})  # a `LegacyAPIResponse` is parsed at once already
# The span names of the SDK methods llmledger records (`_endpoints`); a span of any other call is never adopted.
_RECORDED = frozenset({"anthropic.messages.create", "anthropic.messages.count_tokens"})
# What llmledger writes on the SDK's span where the SDK has not: its usage counts and cost (`gen_ai.usage.*`), its
# price, attribution, completeness and budget attributes (`llmledger.*`), how the call was served, and a token count.
_ADDED = ("gen_ai.usage.", "llmledger.", "anthropic.response.", "anthropic.message.count_tokens.")
_CONTENT = frozenset({attr.INPUT_MESSAGES, attr.OUTPUT_MESSAGES})  # only written when llmledger captures content
# What llmledger's value wins for on the SDK's span: the provider the call's cost was priced as.
_OURS = frozenset({attr.PROVIDER_NAME})


def traces_itself(resource: Any) -> bool:
    """Whether the client behind `resource` makes spans of its own (the SDK resolves its tracer once per client)."""
    return getattr(resource._client, "_tracer", None) is not None


def share_call_span(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    """Wraps the SDK's `start_api_call_span`: the span of a call llmledger records is shared with its invocation."""
    span = wrapped(*args, **kwargs)
    invocation = recording()
    if invocation is None or invocation.has_span:
        return span
    try:
        # The first span the SDK starts under a recorded call is that call's own (an SDK whose `options` this cannot
        # read included); a span named for another API call is never taken.
        name = _span_name(args, kwargs)
        if name is not None and name not in _RECORDED:
            return span
        if span is None or not span.is_recording():
            # The SDK records nothing of this call (no tracer provider: the global one is a no-op; or its sampler
            # dropped the span, which may still carry the trace context the SDK sends): llmledger's span, as without
            # the SDK's tracing, and the SDK's left as it is.
            invocation.own_span()
            return span
        ends = _Ends(span)
        if invocation.adopt(cast(Span, _LedgerView(span, ends))):
            return _SdkView(span, ends)
    except Exception:
        _log.debug("llmledger: could not share the SDK's span of a call", exc_info=True)
    return span


def adapt(invocation: Invocation, result: Any, endpoint: Endpoint, streaming: bool) -> Any:
    """`raw_responses.adapt`, for a call that may share the SDK's span.

    A raw response whose body the SDK has already read (`with_raw_response`, not streamed) is recorded at once from
    its body, as the SDK records it, instead of when the app parses it: the call is over. A stream is `follow`ed.
    """
    if not streaming and type(result).__name__ in _RAW and result.http_response.is_closed:
        invocation.finish(endpoint.read_response(result.http_response.json()))
        return result
    adapted = raw_responses.adapt(invocation, result, endpoint, streaming)
    if isinstance(adapted, SyncStream | AsyncStream):
        follow(invocation, adapted)
    return adapted


def follow(invocation: Invocation, proxy: SyncStream | AsyncStream) -> None:
    """Have the SDK's end of a shared span also end llmledger's record of the stream behind `proxy`, unless the app
    is reading the stream through `proxy` (which then ends the record itself, with any error of the stream)."""
    view = invocation.span
    if not isinstance(view, _LedgerView):
        return
    state = proxy._self_state
    # Weakly: the SDK ends the span of a dropped stream when its event generator is collected, which a strong
    # reference from here (the span holds this callback) would prevent.
    events = getattr(proxy.__wrapped__, "_iterator", None)
    running = weakref.ref(events) if events is not None else lambda: None

    def on_sdk_end() -> None:
        iterator = running()
        if not (getattr(iterator, "gi_running", False) or getattr(iterator, "ag_running", False)):
            state.finish()

    view._self_ends.on_sdk_end = on_sdk_end


def _span_name(args: Any, kwargs: Any) -> Any:
    options = kwargs.get("options", args[2] if len(args) > 2 else None)
    return getattr(options, "span_name", None)


class _Ends:
    """When the span shared by the SDK and llmledger ends: once both are done with it, at the SDK's end time.

    Either may be done first: the SDK ends a call's span when its response (or stream) has been read, closed or
    dropped, llmledger when it has read the result the SDK returned or the stream the app read. `on_sdk_end` is
    called when the SDK is done first (`follow`). Ending never raises: a span processor's failure is logged.
    """

    __slots__ = ("_llmledger_done", "_lock", "_sdk_end", "on_sdk_end", "span")

    def __init__(self, span: Span) -> None:
        self.span = span
        self._lock = threading.Lock()
        self._sdk_end: int | None = None
        self._llmledger_done = False
        self.on_sdk_end: Callable[[], None] | None = None

    @property
    def sdk_done(self) -> bool:
        return self._sdk_end is not None

    def sdk(self, end_time: int | None) -> None:
        with self._lock:
            if self._sdk_end is not None:
                return
            self._sdk_end = end_time if end_time is not None else time.time_ns()
            ready = self._llmledger_done
        if ready:
            self._end()
        elif self.on_sdk_end is not None:
            try:
                self.on_sdk_end()
            except Exception:
                _log.debug("llmledger: could not end the record of a stream", exc_info=True)

    def llmledger(self) -> None:
        with self._lock:
            if self._llmledger_done:
                return
            self._llmledger_done = True
            ready = self._sdk_end is not None
        if ready:
            self._end()

    def _end(self) -> None:
        try:
            self.span.end(end_time=self._sdk_end)
        except Exception:
            _log.debug("llmledger: a span processor failed to end a span", exc_info=True)


class _SdkView(wrapt.ObjectProxy):  # type: ignore[misc]
    """The call's span as the SDK sees it: as its own, except that its `end()` waits for llmledger's."""

    def __init__(self, span: Span, ends: _Ends) -> None:
        super().__init__(span)
        self._self_ends = ends

    def end(self, end_time: int | None = None) -> None:
        self._self_ends.sdk(end_time)

    def is_recording(self) -> bool:
        """Not once the SDK has ended it, as the SDK's checks of an ended span expect."""
        return not self._self_ends.sdk_done and bool(self.__wrapped__.is_recording())


class _LedgerView(wrapt.ObjectProxy):  # type: ignore[misc]
    """The call's span as llmledger's invocation sees it: it adds only its own attributes, and sets no status."""

    def __init__(self, span: Span, ends: _Ends) -> None:
        super().__init__(span)
        self._self_ends = ends

    def set_attributes(self, attributes: Mapping[str, AttributeValue]) -> None:
        present = getattr(self.__wrapped__, "attributes", None) or {}
        self.__wrapped__.set_attributes({k: v for k, v in attributes.items() if _added(k, present)})

    def set_attribute(self, key: str, value: AttributeValue) -> None:
        self.set_attributes({key: value})

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        """The SDK sets the status of its span (`OK`, or an error with its `error.type`)."""

    def end(self, end_time: int | None = None) -> None:
        self._self_ends.llmledger()


def _added(key: str, present: Mapping[str, Any]) -> bool:
    return key in _OURS or (key not in present and (key.startswith(_ADDED) or key in _CONTENT))
