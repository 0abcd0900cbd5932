# SPDX-License-Identifier: Apache-2.0
"""A call's key is the provider's response id, under every name a convention gives it, the same in Python and in C:
what lets the collector keep one row per call whichever spans report it."""

from __future__ import annotations

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from llmledger.collector.extract import Extractor

_CALL = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini"}


def _keys(*spans: dict[str, object]) -> list[list[str]]:
    """The call keys of one span per attribute set, by the Python reference and by the C where it is built."""
    request = ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    for index, attributes in enumerate(spans):
        span = scope.spans.add(trace_id=b"\x01" * 16, span_id=bytes([index + 1]) * 8, name="chat")
        for key, value in {**_CALL, "gen_ai.usage.input_tokens": 10, **attributes}.items():
            any_value = AnyValue(int_value=value) if isinstance(value, int) else AnyValue(string_value=str(value))
            span.attributes.append(KeyValue(key=key, value=any_value))
    body = request.SerializeToString()
    found = [list(Extractor(native=native).columns(body).columns.field("call_key")) for native in (False, None)]
    found.append([call.call_key for call in Extractor(native=False).calls(body).calls])
    return found


def test_the_response_id_of_each_convention_is_the_call_key_on_every_path():
    expected = ["chatcmpl-1", "msg_2", "", ""]
    spans = (
        {"gen_ai.response.id": "chatcmpl-1"},  # semconv, OpenLLMetry, pydantic-ai, LangSmith, LiteLLM
        {"llm.response.id": "msg_2"},  # OpenInference-style, the Vercel AI SDK
        {},
        {"gen_ai.response.id": "x" * 257},  # no provider's id is that long: not taken for one
    )
    assert _keys(*spans) == [expected] * 3
