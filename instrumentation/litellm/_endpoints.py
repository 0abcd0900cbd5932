# SPDX-License-Identifier: Apache-2.0
"""What the LiteLLM instrumentor wraps: the six functions that call a model, and how each is read.

Their first parameters may be given by position (`litellm.completion("gpt-4o-mini", messages)`); `positional`
names them, in the order of LiteLLM's signatures, so that the call is read whichever way it was made.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .._shared.invocation import Request
from .._shared.wrapping import Endpoint
from . import _extract as x

MODULE = "litellm"  # the package: where apps (and LiteLLM's Router) call them


@dataclass(frozen=True, slots=True)
class Function:
    """One LiteLLM function to wrap: its name in `litellm`, how its request and response are read, whether it
    streams, and its positional parameters."""

    name: str
    is_async: bool
    read_request: Callable[[Mapping[str, Any], str | None], Request]
    read_response: Callable[[Any], Any]
    streams: bool
    positional: tuple[str, ...]

    def endpoint(self) -> Endpoint:
        """The shared machinery's view of it (what `default_adapt` reads: the response reader and stream proxy)."""
        return Endpoint(
            MODULE,
            self.name,
            lambda kwargs: self.read_request(kwargs, None),
            self.read_response,
            x.StreamReader if self.streams else None,
            self.is_async,
        )


_CHAT = ("model", "messages")
FUNCTIONS = (
    Function("completion", False, x.chat_request, x.completion_response, True, _CHAT),
    Function("acompletion", True, x.chat_request, x.completion_response, True, _CHAT),
    Function("text_completion", False, x.text_completion_request, x.completion_response, True, ("prompt",)),
    Function("atext_completion", True, x.text_completion_request, x.completion_response, True, ("prompt",)),
    Function("embedding", False, x.embedding_request, x.embedding_response, False, ("model", "input")),
    Function("aembedding", True, x.embedding_request, x.embedding_response, False, ("model", "input")),
)
