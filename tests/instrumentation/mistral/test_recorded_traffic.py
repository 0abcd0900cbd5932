# SPDX-License-Identifier: Apache-2.0
"""Every interaction recorded through the `mistralai` SDK, replayed through the installed SDK's real HTTP stack.

For each one, the span's usage equals what Mistral reported (expected.jsonl), and the call is priced at
Mistral's rates.
"""

from __future__ import annotations

import pytest

from tests.cassette_replay import expected
from tests.instrumentation.instrumenting import recorded_files, replayed
from tests.instrumentation.mistral import sdk_calls


def test_every_recorded_mistral_file_is_replayed():
    assert len(recorded_files("mistral")) == 5
    assert sum(len(expected()[f]) for f in recorded_files("mistral")) == 5


@pytest.mark.parametrize("file", recorded_files("mistral"))
def test_span_usage_equals_what_mistral_reported(file, instrumented, span_exporter):
    for row, attrs in replayed(file, sdk_calls, span_exporter):
        assert attrs["gen_ai.provider.name"] == "mistral_ai"
        assert attrs["gen_ai.request.model"] == row["model_request"]
        assert attrs["gen_ai.response.model"] == row["model_response"]
        reported = row["normalized"]
        assert attrs["gen_ai.usage.input_tokens"] == reported["input_tokens"]
        assert attrs["gen_ai.usage.output_tokens"] == reported["output_tokens"]  # 0 for embeddings
        if row["streaming"]:
            assert attrs["llmledger.usage.complete"] is True
        assert attrs["gen_ai.usage.cost"] > 0
        assert attrs["llmledger.price.source"] == "genai-prices"
