# SPDX-License-Identifier: Apache-2.0
"""Every interaction recorded through the Ollama SDK, replayed through the installed SDK's real HTTP stack.

For each one, the span's counts equal what Ollama reported (expected.jsonl): an input count only where Ollama
evaluated the prompt, and no cost, since a model on one's own Ollama server has no price.
"""

from __future__ import annotations

import pytest

from tests.cassette_replay import expected, interactions
from tests.instrumentation.ollama.sdk_calls import call, cassette


def _files() -> list[str]:
    return sorted(f for f, rows in expected().items() if any(r["provider"] == "ollama" for r in rows))


def test_every_recorded_ollama_file_is_replayed():
    assert len(_files()) == 11
    assert sum(len(expected()[f]) for f in _files()) == 11


@pytest.mark.parametrize("file", _files())
def test_span_counts_equal_what_ollama_reported(file, instrumented, span_exporter):
    recorded = interactions(file)
    with cassette(file):
        for row in expected()[file]:
            span_exporter.clear()
            call(row, recorded[row["interaction_index"]])

            (span,) = span_exporter.get_finished_spans()
            attrs = span.attributes
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
