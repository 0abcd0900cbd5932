# SPDX-License-Identifier: Apache-2.0
"""Every interaction recorded through the Cohere SDK, replayed through the installed SDK's real HTTP stack.

For each one, the span's usage equals what Cohere billed (expected.jsonl normalizes to the billed units, which
differ from the counted tokens in every recorded chat), and a rerank records the searches it billed.
"""

from __future__ import annotations

import pytest

from tests.cassette_replay import expected
from tests.instrumentation.cohere import sdk_calls
from tests.instrumentation.instrumenting import recorded_files, replayed


def test_every_recorded_cohere_file_is_replayed():
    assert len(recorded_files("cohere")) == 15
    assert sum(len(expected()[f]) for f in recorded_files("cohere")) == 17


@pytest.mark.parametrize("file", recorded_files("cohere"))
def test_span_usage_equals_what_cohere_billed(file, instrumented, span_exporter):
    for row, attrs in replayed(file, sdk_calls, span_exporter):
        assert attrs["gen_ai.provider.name"] == "cohere"
        assert attrs["gen_ai.request.model"] == row["model_request"]
        assert attrs["server.address"] == "api.cohere.com"
        reported = row["normalized"]
        assert attrs.get("gen_ai.usage.input_tokens") == reported.get("input_tokens")
        assert attrs.get("gen_ai.usage.output_tokens") == reported.get("output_tokens")
        searches = row["usage"].get("billed_units.search_units")
        assert attrs.get("llmledger.usage.search_units") == searches
        if row["streaming"]:
            assert attrs["llmledger.usage.complete"] is True
        assert ("gen_ai.usage.cost" in attrs) != bool(attrs.get("llmledger.cost.unpriced")), (
            "every call with usage is either priced or flagged unpriced"
        )
