# SPDX-License-Identifier: Apache-2.0
"""Every interaction recorded through the Ollama SDK, replayed through the installed SDK's real HTTP stack.

For each one, the span's counts equal what Ollama reported (expected.jsonl): an input count only where Ollama
evaluated the prompt, and no cost, since a model on one's own Ollama server has no price.
"""

from __future__ import annotations

import pytest

from tests.cassette_replay import expected
from tests.instrumentation.instrumenting import recorded_files, replayed
from tests.instrumentation.ollama import sdk_calls


def test_every_recorded_ollama_file_is_replayed():
    assert len(recorded_files("ollama")) == 11
    assert sum(len(expected()[f]) for f in recorded_files("ollama")) == 11


@pytest.mark.parametrize("file", recorded_files("ollama"))
def test_span_counts_equal_what_ollama_reported(file, instrumented, span_exporter):
    for row, attrs in replayed(file, sdk_calls, span_exporter):
        assert attrs["gen_ai.provider.name"] == "ollama"
        assert attrs["gen_ai.request.model"] == row["model_request"]
        assert attrs["gen_ai.response.model"] == row["model_response"]
        assert (attrs["server.address"], attrs["server.port"]) == ("127.0.0.1", 11434)
        reported = row["normalized"]
        assert attrs.get("gen_ai.usage.input_tokens") == reported.get("input_tokens")
        assert attrs["gen_ai.usage.output_tokens"] == reported["output_tokens"]
        if row["streaming"]:
            assert attrs["llmledger.usage.complete"] is True
        assert attrs["llmledger.cost.unpriced"] is True  # a local model: no price, never $0
        assert not any(key.startswith("gen_ai.usage.cost") for key in attrs)
