# SPDX-License-Identifier: Apache-2.0
"""One span per call, whether or not the Anthropic SDK traces itself.

The Anthropic SDK (2.x) starts its own span (`anthropic.messages.create`) for each API call whenever a tracer
provider exists, unless `ANTHROPIC_OPEN_TELEMETRY=false` or the client's `open_telemetry` option turns it off.
Two spans for one call would count its tokens twice in any sum, and the SDK's span has no cost.

So while llmledger records a call, the SDK's span is not started: the SDK asks `start_api_call_span` for it,
and this hook answers `None` — the documented answer for "no span", after which the SDK makes the call
untraced. Only calls that llmledger records are affected (the call context carries a marker, see
`wrapping.recording`); every other API call (files, models, batches, …) keeps its native span, and with
llmledger uninstrumented the SDK traces exactly as before. Our span is the current span while the SDK sends
the request, so HTTP instrumentation beneath it still nests and propagates the trace context.
"""

from __future__ import annotations

from typing import Any

from .._shared.wrapping import recording

MODULE = "anthropic._base_client"
FUNCTION = "start_api_call_span"


def skip_native_span(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    if recording() is not None:
        return None
    return wrapped(*args, **kwargs)
