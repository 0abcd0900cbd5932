# SPDX-License-Identifier: Apache-2.0
"""Every Bedrock interaction recorded through boto3, replayed through the installed boto3's real HTTP stack.

For each one the span's usage equals what Bedrock reported (expected.jsonl, in the span contract's inclusive model:
Bedrock's input leaves cached tokens out, so input + cache reads + cache writes); streams end complete; error
responses reach the app as botocore raises them and mark the span. The interactions recorded through the
Anthropic SDK's `AnthropicBedrock` client are the Anthropic instrumentor's (tests/instrumentation/anthropic).
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.cassette_replay import expected, interactions
from tests.instrumentation.bedrock.sdk_calls import call, cassette

ENDPOINTS = ("converse", "converse_stream", "invoke_model", "invoke_model_with_response_stream")


def _boto3_rows(file: str) -> list[dict]:
    return [r for r in expected()[file] if r["provider"] == "bedrock" and r["sdk"].startswith("boto3")]


FILES = sorted(f for f in expected() if _boto3_rows(f))


def test_every_bedrock_interaction_recorded_through_boto3_is_replayed():
    assert sum(len(_boto3_rows(f)) for f in FILES) == 64
    assert {r["endpoint"] for f in FILES for r in _boto3_rows(f)} == set(ENDPOINTS)


@pytest.mark.parametrize("file", FILES)
def test_span_usage_equals_what_bedrock_reported(file, instrumented, span_exporter):
    recorded = interactions(file)
    with cassette(file):
        for row in _boto3_rows(file):
            span_exporter.clear()
            interaction = recorded[row["interaction_index"]]
            if row["status"] >= 400:
                with pytest.raises(ClientError) as raised:
                    call(interaction)
                assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == row["status"]
            else:
                call(interaction)

            (span,) = span_exporter.get_finished_spans()
            attrs = span.attributes
            where = (file, row["interaction_index"])
            assert attrs["gen_ai.provider.name"] == "aws.bedrock"
            assert attrs["gen_ai.request.model"] == row["model_request"]
            assert attrs["server.address"] == "bedrock-runtime.us-east-1.amazonaws.com"
            if row["status"] >= 400:
                assert attrs["error.type"] == type(raised.value).__qualname__ == "ValidationException"
                assert span.status.status_code.name == "ERROR"
                assert "gen_ai.usage.input_tokens" not in attrs
                continue
            usage = row["normalized"]
            cache_read = usage.get("cache_read_input_tokens")
            cache_write = usage.get("cache_creation_input_tokens")
            inclusive = usage["input_tokens"] + (cache_read or 0) + (cache_write or 0)
            assert attrs["gen_ai.usage.input_tokens"] == inclusive, where
            assert attrs["gen_ai.usage.output_tokens"] == usage["output_tokens"], where
            if cache_read is not None:
                assert attrs["gen_ai.usage.cache_read.input_tokens"] == cache_read, where
            if cache_write is not None:
                assert attrs["gen_ai.usage.cache_creation.input_tokens"] == cache_write, where
            if row["streaming"]:
                assert attrs["llmledger.usage.complete"] is True, where
                assert attrs["gen_ai.request.stream"] is True
            assert span.status.is_unset
            assert ("gen_ai.usage.cost" in attrs) != bool(attrs.get("llmledger.cost.unpriced")), (
                "every call with usage is either priced or flagged unpriced"
            )
