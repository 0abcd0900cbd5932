# SPDX-License-Identifier: Apache-2.0
"""Wraps LiteLLM (imported once `litellm` is): its public completion, text completion and embedding functions.

They are wrapped where apps call them, as attributes of the `litellm` package: LiteLLM binds them there from
several modules (`litellm.main`, and in newer releases dispatchers that may answer a call natively without ever
running `litellm.main`), so the package's attribute is the one door every call goes through. LiteLLM's own calls
between them (`text_completion` runs `completion`, a `Router` calls `litellm.acompletion`) are nested in a recorded
call: they see it recording (`wrapping.routed`) and pass through, as does any SDK call llmledger wraps beneath.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from opentelemetry.instrumentation.utils import unwrap
from wrapt import wrap_function_wrapper

from .._shared import budget_policy
from .._shared.config import Config
from .._shared.invocation import Invocation
from .._shared.telemetry import Telemetry
from .._shared.wrapping import Start, default_adapt, finisher, recorded, routed_context
from . import _extract as x
from ._endpoints import FUNCTIONS, MODULE, Function

_log = logging.getLogger(__name__)


def patch(telemetry: Telemetry, config: Config) -> None:
    for function in FUNCTIONS:
        # Recorded as an SDK method is, but started from LiteLLM's routing, and run in the routed context so that
        # the SDK call it makes beneath is not recorded twice.
        wrapper = recorded(
            _starter(function, telemetry, config),
            routed_context,
            finisher(function.endpoint(), default_adapt),
            function.positional,
            function.is_async,
        )
        try:
            wrap_function_wrapper(MODULE, function.name, wrapper)
        except (ImportError, AttributeError):
            _log.debug("llmledger: litellm.%s not in this LiteLLM version", function.name)


def unpatch() -> None:
    module = sys.modules.get(MODULE)
    if module is None:
        return
    for function in FUNCTIONS:
        try:
            unwrap(module, function.name)
        except AttributeError:
            continue


def _starter(function: Function, telemetry: Telemetry, config: Config) -> Start:
    """How a call of `function` starts being recorded: its invocation, from the provider, model and server LiteLLM
    routes it to, and the kwargs to call LiteLLM with; None if that failed (logged). A budget policy refusing the
    call raises (`BudgetExceeded`), the one exception raised into the app."""

    def start(instance: Any, kwargs: dict[str, Any]) -> tuple[Invocation, dict[str, Any]] | None:
        try:
            provider, model, host, port = x.route(kwargs)
            request = function.read_request(kwargs, model)
            call_kwargs = _ask_for_stream_usage(kwargs, provider, config) if function.streams else kwargs
            invocation = Invocation(telemetry, provider, request, (host, port))
        except Exception:
            _log.debug("llmledger: could not start a span for litellm.%s", function.name, exc_info=True)
            return None
        invocation.budget = budget_policy.check(invocation, call_kwargs)
        return invocation, call_kwargs

    return start


def _ask_for_stream_usage(kwargs: dict[str, Any], provider: str, config: Config) -> dict[str, Any]:
    """Ask a stream to end with its usage, unless the caller chose or the provider refuses the parameter
    (`LLMLEDGER_OPENAI_INCLUDE_USAGE` forces it on or off). A new dict: the caller's is never changed."""
    ask = config.include_usage
    if (
        kwargs.get("stream") is True
        and (provider not in x.REFUSES_STREAM_OPTIONS if ask is None else ask)
        and kwargs.get("stream_options") is None
    ):
        return {**kwargs, "stream_options": {"include_usage": True}}
    return kwargs
