# SPDX-License-Identifier: Apache-2.0
"""Every interaction recorded through the `mistralai` SDK, replayed through the installed SDK's real HTTP stack.

For each one, the span's usage equals what Mistral reported (expected.jsonl), and the call is priced at
Mistral's rates.
"""

from __future__ import annotations

import pytest

from tests.cassette_replay import expected, interactions
from tests.instrumentation.mistral.sdk_calls import call, cassette


def _files() -> list[str]:
    return sorted(f for f, rows in expected().items() if any(r["provider"] == "mistral" for r in rows))


def test_every_recorded_mistral_file_is_replayed():
    assert len(_files()) == 5
    assert sum(len(expected()[f]) for f in _files()) == 5


@pytest.mark.parametrize("file", _files())
def test_span_usage_equals_what_mistral_reported(file, instrumented, span_exporter):
    recorded = interactions(file)
    with cassette(file):
        for row in expected()[file]:
            span_exporter.clear()
            call(row, recorded[row["interaction_index"]])

            (span,) = span_exporter.get_finished_spans()
            attrs = span.attributes
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
