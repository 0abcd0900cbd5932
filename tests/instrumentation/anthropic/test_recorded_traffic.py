# SPDX-License-Identifier: Apache-2.0
"""Every interaction recorded through the Anthropic SDK, replayed through the installed SDK's real HTTP stack.

For each one, the span's usage equals what Anthropic reported (expected.jsonl) after the one normalization the
span contract asks for: input includes the cache reads and cache writes that Anthropic's `input_tokens` leaves
out. Streams are read from `message_start` plus the final `message_delta`; Bedrock calls are `aws.bedrock`.
"""

from __future__ import annotations

import pytest

from tests.cassette_replay import expected, interactions
from tests.instrumentation.anthropic.sdk_calls import call, cassette


def _files() -> list[str]:
    return sorted(f for f in expected() if f.startswith("anthropic/") or f.startswith("bedrock/openllmetry/anthropic/"))


@pytest.mark.parametrize("file", _files())
def test_span_usage_equals_what_anthropic_reported(file, instrumented, span_exporter):
    recorded = interactions(file)
    with cassette(file):
        for row in expected()[file]:
            span_exporter.clear()
            call(row, recorded[row["interaction_index"]])

            (span,) = span_exporter.get_finished_spans()
            attrs = span.attributes
            reported = row["normalized"]
            cache_read = reported.get("cache_read_input_tokens")
            cache_write = reported.get("cache_creation_input_tokens")
            assert attrs["gen_ai.provider.name"] == ("aws.bedrock" if file.startswith("bedrock/") else "anthropic")
            assert attrs["gen_ai.usage.input_tokens"] == reported["input_tokens"] + (cache_read or 0) + (
                cache_write or 0
            )
            assert attrs["gen_ai.usage.output_tokens"] == reported["output_tokens"]
            if cache_read is not None:
                assert attrs["gen_ai.usage.cache_read.input_tokens"] == cache_read
            if cache_write is not None:
                assert attrs["gen_ai.usage.cache_creation.input_tokens"] == cache_write
            if row["model_response"]:
                assert attrs["gen_ai.response.model"] == row["model_response"]
            if row["streaming"]:
                assert attrs["llmledger.usage.complete"] is True
                assert attrs["gen_ai.request.stream"] is True
            assert isinstance(attrs["gen_ai.usage.cost"], float), "every recorded model has a published price"
            assert "llmledger.cost.unpriced" not in attrs
