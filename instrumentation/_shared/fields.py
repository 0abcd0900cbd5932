# SPDX-License-Identifier: Apache-2.0
"""Reading SDK response objects and plain dicts alike, leaving what is absent as None.

Every provider's readers go through these, so an SDK that renames a field or hands back a dict instead of a
model yields a span with less in it, never an exception.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from opentelemetry.util.types import AttributeValue

from llmledger._core import attributes as _attributes


def attr(obj: Any, name: str) -> Any:
    """`getattr(obj, name, None)` without paying for an absent name on a pydantic model.

    Pydantic's `__getattr__` raises (and `getattr` then catches) an AttributeError with a formatted message for
    every absent field, some 6 µs: on every stream chunk (`x_groq`) and on most responses (`cost`). Fields live in
    the instance `__dict__`, unknown ones in `__pydantic_extra__`; anything else is looked up as before.
    """
    fields = getattr(obj, "__dict__", None)
    if fields is not None and name in fields:
        return fields[name]
    cls: type = type(obj)  # annotated: mypy does not count type[Any] as the Hashable that lru_cache asks for
    if not _class_has(cls, name):
        extra = getattr(obj, "__pydantic_extra__", None)
        if isinstance(extra, dict):
            return extra.get(name)
    return getattr(obj, name, None)


@lru_cache(maxsize=1024)
def _is_mapping(cls: type) -> bool:
    return issubclass(cls, Mapping)


@lru_cache(maxsize=1024)
def _class_has(cls: type, name: str) -> bool:
    return hasattr(cls, name)  # ~1 µs on a pydantic model class, whose metaclass raises in Python


def field(obj: Any, name: str) -> Any:
    """`obj[name]` for a mapping, else the attribute (pydantic extras included); None when absent.

    Runs a dozen times per call and once per stream chunk, so a model's own field is read straight from its
    `__dict__`, and whether a type is a mapping is remembered per type in a plain dict (the ABC check, and even
    an `lru_cache` probe, cost more than the read).
    """
    if obj is None:
        return None
    cls = obj.__class__
    mapping = _MAPPING_TYPES.get(cls)
    if mapping is None:
        mapping = _is_mapping(cls)
        if len(_MAPPING_TYPES) < _MAPPING_TYPES_LIMIT:
            _MAPPING_TYPES[cls] = mapping
    if mapping:
        return obj.get(name)
    fields = getattr(obj, "__dict__", None)
    if fields is not None and name in fields:
        return fields[name]
    # pydantic keeps unknown fields here: OpenRouter's cost, and LiteLLM's usage and finish_reason on every chunk
    extra = getattr(obj, "__pydantic_extra__", None)
    if extra.__class__ is not dict:
        extra = None
    elif not _class_has(cls, name):
        return extra.get(name)
    value = getattr(obj, name, None)
    if value is None and extra is not None:
        value = extra.get(name)
    return value


_MAPPING_TYPES: dict[type, bool] = {dict: True}
_MAPPING_TYPES_LIMIT = 1024  # response types are few; past this, the lru_cache answers


class Fields:
    """Reads several names of one object at once, giving exactly what `field` gives for each.

    A response is read a dozen names at a time: for an SDK model that declares them all (the common case), one
    C `itemgetter` over its `__dict__` replaces a Python call per name; anything else is read name by name.
    """

    __slots__ = ("_get", "_names")

    def __init__(self, *names: str) -> None:
        if len(names) < 2:
            raise ValueError("Fields reads two names or more; use field() for one")
        self._names = names
        self._get = operator.itemgetter(*names)

    def __call__(self, obj: Any) -> tuple[Any, ...]:
        if obj is not None and not _MAPPING_TYPES.get(obj.__class__, True):
            own = getattr(obj, "__dict__", None)
            if own is not None:
                try:
                    return self._get(own)  # type: ignore[no-any-return]
                except KeyError:
                    pass
        return tuple(field(obj, name) for name in self._names)


def text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def dump(value: Any) -> Any:
    """A message or content part as JSON-ready data, for content capture: SDK models (pydantic) dumped without
    their unset fields, lists of them element by element, anything else as it is."""
    if hasattr(value, "model_dump"):
        return value.model_dump(exclude_none=True, mode="json")
    if isinstance(value, list | tuple):
        return [dump(v) for v in value]
    return value


def embedding_attributes(result: Any) -> dict[str, AttributeValue]:
    """The span attributes of an embeddings response shaped as OpenAI's (`data[i].embedding`; OpenAI, Mistral and
    LiteLLM answer so): the dimension count of the first vector, a list of floats or base64 float32s (counted
    without decoding); none when there is no vector."""
    data = field(result, "data") or ()
    if not data:
        return {}
    vector = field(data[0], "embedding")
    if isinstance(vector, list):
        return {_attributes.EMBEDDINGS_DIMENSION_COUNT: len(vector)}
    if isinstance(vector, str) and vector:  # encoding_format="base64"
        return {_attributes.EMBEDDINGS_DIMENSION_COUNT: (len(vector) * 3 // 4 - vector.count("=", -2)) // 4}
    return {}
