# SPDX-License-Identifier: Apache-2.0
"""Every interaction recorded against the Gemini API and Vertex AI, replayed through the installed google-genai.

For each one, the span's usage equals what Google reported (expected.jsonl) after the normalization the span
contract asks for: Gemini's thinking tokens sit outside `candidatesTokenCount`, so output is their sum and the
thoughts are reasoning. Error responses reach the app unchanged and mark the span.
"""

from __future__ import annotations

import pytest
from google.genai import errors

from tests.cassette_replay import expected, interactions
from tests.instrumentation.google_genai.sdk_calls import call, cassette


def _files() -> list[str]:
    return sorted(f for f in expected() if f.startswith(("google_genai/", "google_vertexai/")))


@pytest.mark.parametrize("file", _files())
def test_span_usage_equals_what_google_reported(file, instrumented, span_exporter):
    recorded = interactions(file)
    with cassette(file):
        for row in expected()[file]:
            span_exporter.clear()
            if row["status"] >= 400:
                with pytest.raises(errors.APIError) as raised:
                    call(row, recorded[row["interaction_index"]])
                assert raised.value.code == row["status"]
            else:
                call(row, recorded[row["interaction_index"]])

            (span,) = span_exporter.get_finished_spans()
            attrs = span.attributes
            assert attrs["gen_ai.provider.name"] == ("gcp.vertex_ai" if "aiplatform" in row["http"] else "gcp.gemini")
            if row["status"] >= 400:
                assert attrs["error.type"] == type(raised.value).__qualname__
                assert span.status.status_code.name == "ERROR"
                continue
            reported = row["normalized"]
            if row["endpoint"] == "cachedContents.create":
                # the tokens a cache holds are billed once, as input written to the cache
                assert attrs["gen_ai.usage.input_tokens"] == reported["total_tokens"]
                assert attrs["gen_ai.usage.cache_creation.input_tokens"] == reported["total_tokens"]
                assert attrs["gen_ai.usage.cost"] > 0
                continue
            if reported is None or "input_tokens" not in reported:
                # embeddings on the Gemini API report no token usage to bill per call
                assert "gen_ai.usage.input_tokens" not in attrs
                assert not any(k.startswith("gen_ai.usage.cost") for k in attrs)
                continue
            thoughts = reported.get("reasoning_tokens")
            assert attrs["gen_ai.usage.input_tokens"] == reported["input_tokens"]
            assert attrs.get("gen_ai.usage.output_tokens") == (
                None
                if "output_tokens" not in reported and thoughts is None
                else reported.get("output_tokens", 0) + (thoughts or 0)
            )
            if thoughts is not None:
                assert attrs["gen_ai.usage.reasoning.output_tokens"] == thoughts
            if "cache_read_input_tokens" in reported:
                assert attrs["gen_ai.usage.cache_read.input_tokens"] == reported["cache_read_input_tokens"]
            if row["streaming"]:
                assert attrs["llmledger.usage.complete"] is True
            assert ("gen_ai.usage.cost" in attrs) != bool(attrs.get("llmledger.cost.unpriced"))
