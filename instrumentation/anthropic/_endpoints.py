# SPDX-License-Identifier: Apache-2.0
"""What the Anthropic instrumentor wraps: one table for `messages` and `beta.messages`, sync and async.

`AnthropicBedrock` and `AnthropicVertex` clients use these same `messages` classes; their `beta.messages` classes
copy the first-party beta methods, and those copies are wrapped alike (`_patch`), so one table covers all three
platforms. `stream()` is listed apart: it returns a manager that sends the request later (see `_helpers`).
Each call is recorded on the SDK's own span where the client makes one (`_native`).
"""

from __future__ import annotations

from .._shared.wrapping import Endpoint
from . import _extract as x
from ._native import traces_itself

_MODULES = ("anthropic.resources.messages.messages", "anthropic.resources.beta.messages.messages")


def _rows() -> tuple[tuple[Endpoint, ...], tuple[Endpoint, ...]]:
    calls: list[Endpoint] = []
    helpers: list[Endpoint] = []
    for module in _MODULES:
        for is_async, prefix in ((False, ""), (True, "Async")):
            resource = f"{prefix}Messages"
            calls += [
                Endpoint(
                    module,
                    f"{resource}.create",
                    x.messages_request,
                    x.message_response,
                    x.MessageStreamReader,
                    is_async,
                    sdk_span=traces_itself,
                ),
                Endpoint(
                    module,
                    f"{resource}.parse",
                    x.messages_request,
                    x.message_response,
                    None,
                    is_async,
                    sdk_span=traces_itself,
                ),
                Endpoint(
                    module,
                    f"{resource}.count_tokens",
                    x.count_tokens_request,
                    x.count_tokens_response,
                    None,
                    is_async,
                    sdk_span=traces_itself,
                ),
            ]
            helpers.append(
                Endpoint(
                    module,
                    f"{resource}.stream",
                    x.stream_helper_request,
                    x.message_response,
                    x.MessageStreamReader,
                    is_async,
                    sdk_span=traces_itself,
                )
            )
    return tuple(calls), tuple(helpers)


ENDPOINTS, HELPER_STREAMS = _rows()
