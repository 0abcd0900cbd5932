# SPDX-License-Identifier: Apache-2.0
"""LiteLLM's stream reader on chunks shaped as LiteLLM makes them: pydantic models that declare neither `usage` nor
`finish_reason`, keeping them among their extras when present. LiteLLM itself is driven end to end by
tests/collector/frameworks (it is only in the frameworks' venv)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from llmledger.instrumentation.litellm._extract import StreamReader


class _Choice(BaseModel):  # litellm.types.utils.StreamingChoices: no declared fields
    model_config = ConfigDict(extra="allow")


class _Chunk(BaseModel):  # litellm.types.utils.ModelResponseStream: `usage` only as an extra, on the last chunk
    model_config = ConfigDict(extra="allow")
    id: str
    model: str
    choices: list[_Choice]


class _Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int


def test_usage_and_finish_reasons_kept_as_extras_are_read_and_their_absence_is_none():
    reader = StreamReader()
    for chunk in (
        _Chunk(id="chatcmpl-1", model="gpt-4o-mini", choices=[_Choice(index=0, delta={"content": "Hel"})]),
        _Chunk(id="chatcmpl-1", model="gpt-4o-mini", choices=[_Choice(index=0, finish_reason="stop")]),
        _Chunk(id="chatcmpl-1", model="gpt-4o-mini", choices=[], usage=_Usage(prompt_tokens=9, completion_tokens=2)),
    ):
        reader.feed(chunk)
    response = reader.response()
    assert reader.usage_seen
    assert (response.id, response.model, response.finish_reasons) == ("chatcmpl-1", "gpt-4o-mini", ["stop"])
    assert (response.usage.input_tokens, response.usage.output_tokens) == (9, 2)


def test_dict_chunks_read_the_same():
    reader = StreamReader()
    reader.feed({"id": "c", "model": "m", "choices": [{"finish_reason": "length"}]})
    reader.feed({"id": "c", "model": "m", "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 4}})
    response = reader.response()
    assert response.finish_reasons == ["length"]
    assert (response.usage.input_tokens, response.usage.output_tokens) == (3, 4)
