# SPDX-License-Identifier: Apache-2.0
"""Methods an SDK copies into other classes when it is imported: found by identity and wrapped like the original.

A class body such as ``create = FirstPartyMessagesAPI.create`` (Anthropic's Bedrock and Vertex `beta.messages`
resources) takes the function itself when its module is imported, which the SDK's own ``__init__`` does, so
before any instrumentor runs. Wrapping the original afterwards leaves the copy bare: calls through it get no span.
So once the originals are wrapped, `wrap_copies` looks through the classes of the SDK's modules for attributes
that *are* one of the original functions and wraps each with the original's wrapper; `unwrap_copies` restores
them. Looking by identity, not by a list of classes, also covers platforms a later SDK release adds.
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Iterable
from typing import Any

from opentelemetry.instrumentation.utils import unwrap
from wrapt import wrap_function_wrapper

from .wrapping import Endpoint

_log = logging.getLogger(__name__)

Place = tuple[type, str]  # a class and the name of one of its attributes


def wrapped_places(endpoints: Iterable[Endpoint]) -> list[Place]:
    """The (class, method name) of each endpoint the SDK in this process has; those it lacks are left out."""
    places = []
    for endpoint in endpoints:
        class_name, _, method = endpoint.method.rpartition(".")
        try:
            owner: Any = importlib.import_module(endpoint.module)
            for part in class_name.split("."):
                owner = getattr(owner, part)
        except (ImportError, AttributeError):
            continue
        if isinstance(owner, type):
            places.append((owner, method))
    return places


def wrap_copies(wrapped: Iterable[Place], package: str) -> list[Place]:
    """Wrap every copy of the original functions behind `wrapped` (places already wrapped with wrapt) held by a
    class of an imported module under `package` (e.g. ``anthropic.lib``); the places wrapped, for
    `unwrap_copies`. Our failures are logged, never raised: an SDK we cannot read is left as it is."""
    wrappers: dict[int, tuple[Any, Any]] = {}  # id(original function) -> (the function, its wrapper)
    for owner, name in wrapped:
        member = vars(owner).get(name)
        original = getattr(member, "__wrapped__", None)
        wrapper = getattr(member, "_self_wrapper", None)  # wrapt's FunctionWrapper keeps the wrapper function here
        if original is not None and wrapper is not None:
            wrappers[id(original)] = (original, wrapper)
    done: list[Place] = []
    for copy_owner, name, wrapper in _copies(wrappers, package):
        try:
            wrap_function_wrapper(copy_owner, name, wrapper)
        except Exception:  # an unusual class must not stop the instrumentation of the rest
            _log.debug("llmledger: could not wrap %s.%s", copy_owner.__qualname__, name, exc_info=True)
            continue
        done.append((copy_owner, name))
    return done


def unwrap_copies(places: Iterable[Place]) -> None:
    """Put back what `wrap_copies` wrapped, each place on its own."""
    for owner, name in places:
        try:
            unwrap(owner, name)
        except Exception:
            _log.debug("llmledger: could not unwrap %s.%s", owner.__qualname__, name, exc_info=True)


def _copies(wrappers: dict[int, tuple[Any, Any]], package: str) -> list[tuple[type, str, Any]]:
    """(class, attribute, wrapper) for each attribute of a class defined in a module under `package` that is one
    of the original functions of `wrappers`."""
    found = []
    prefix = package + "."
    for module_name, module in list(sys.modules.items()):
        if module is None or not (module_name == package or module_name.startswith(prefix)):
            continue
        for value in list(vars(module).values()):
            if not isinstance(value, type) or value.__module__ != module_name:
                continue  # each class once: where it is defined, not everywhere it is imported
            for attribute, member in list(vars(value).items()):
                entry = wrappers.get(id(member))
                if entry is not None and entry[0] is member:
                    found.append((value, attribute, entry[1]))
    return found
