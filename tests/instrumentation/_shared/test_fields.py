# SPDX-License-Identifier: Apache-2.0
"""`_get` reads SDK models as `getattr` would, without raising for absent pydantic fields; an embeddings response
gives its dimension count however its vectors are encoded."""

from __future__ import annotations

from openai.types.chat import ChatCompletionChunk
from openai.types.completion_usage import CompletionUsage

from llmledger._core import attributes as attr
from llmledger.instrumentation._shared.fields import Fields, embedding_attributes
from llmledger.instrumentation._shared.fields import attr as _attr
from llmledger.instrumentation._shared.fields import field as _get


class _Plain:
    declared = "field"

    def __init__(self) -> None:
        self.value = 3

    @property
    def computed(self) -> str:
        return "property"


def test_pydantic_fields_extras_and_absent_names_read_like_getattr():
    usage = CompletionUsage.model_validate({"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3, "cost": 0.5})
    assert _get(usage, "prompt_tokens") == 1
    assert _get(usage, "cost") == 0.5  # an extra field (OpenRouter)
    assert _get(usage, "prompt_cache_hit_tokens") is None  # absent
    assert _get(usage, "prompt_tokens_details") is None  # declared, unset
    assert _get(usage, "model_fields_set") == usage.model_fields_set  # anything else on the class


def test_chunk_extras_are_found_and_absent_ones_are_none():
    base = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m", "choices": []}
    groq = ChatCompletionChunk.model_validate({**base, "x_groq": {"usage": {"prompt_tokens": 4}}})
    plain = ChatCompletionChunk.model_validate(base)
    assert _attr(groq, "x_groq") == {"usage": {"prompt_tokens": 4}}
    assert _attr(plain, "x_groq") is None
    assert _attr(plain, "model") == "m"


def test_other_objects_keep_getattr_semantics():
    obj = _Plain()
    assert (_attr(obj, "value"), _attr(obj, "declared"), _attr(obj, "computed"), _attr(obj, "absent")) == (
        3,
        "field",
        "property",
        None,
    )
    assert _get({"a": 1}, "a") == 1
    assert _get(None, "a") is None


def test_reading_several_names_at_once_gives_what_reading_each_gives():
    usage = CompletionUsage.model_validate({"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3, "cost": 0.5})
    declared = ("prompt_tokens", "completion_tokens", "prompt_tokens_details")
    with_extra = ("prompt_tokens", "cost", "prompt_cache_hit_tokens", "model_fields_set")
    for names in (declared, with_extra):
        read = Fields(*names)
        for obj in (usage, usage, {"prompt_tokens": 7, "cost": 1}, _Plain(), None):  # usage twice: once known
            assert read(obj) == tuple(_get(obj, name) for name in names)


def test_an_embedding_counts_its_dimensions_as_floats_or_as_base64_float32s():
    import base64
    import struct

    floats = [0.25, -1.5, 3.0]
    packed = base64.b64encode(struct.pack("<3f", *floats)).decode()

    assert embedding_attributes({"data": [{"embedding": floats}]}) == {attr.EMBEDDINGS_DIMENSION_COUNT: 3}
    assert embedding_attributes({"data": [{"embedding": packed}]}) == {attr.EMBEDDINGS_DIMENSION_COUNT: 3}
    assert embedding_attributes({"data": []}) == {}
    assert embedding_attributes({"data": [{"embedding": None}]}) == {}
