# SPDX-License-Identifier: Apache-2.0
"""An app with only one LLM SDK installed gets exact, costed spans under `opentelemetry-instrument` (or, for a
model nobody prices, spans flagged unpriced).

Each case runs in an environment holding llmledger, opentelemetry-distro and that one SDK (`one_sdk`), with
OpenTelemetry's own loader deciding which entry points load, as a user's first run does. The app makes a plain
and a streamed call, served recorded bodies through the SDK's own HTTP client.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.instrumentation import one_sdk, zero_code
from tests.instrumentation.anthropic import transport as anthropic_transport
from tests.instrumentation.bedrock import transport as bedrock_transport
from tests.instrumentation.cohere import transport as cohere_transport
from tests.instrumentation.google_genai import transport as google_transport
from tests.instrumentation.mistral import transport as mistral_transport
from tests.instrumentation.ollama import transport as ollama_transport
from tests.instrumentation.openai import transport as openai_transport

APPS = {
    # gpt-4o-mini 12 in / 5 out at $0.15 / $0.60 per million; gpt-4 12 in / 5 out at $30 / $60 per million.
    "openai": (openai_transport.zero_code_app, ["chat gpt-4o-mini", "chat gpt-4"], [4.8e-6, 6.6e-4], "openai"),
    # claude-3-opus 17 in / 220 out at $15 / $75; claude-3-5-haiku 17 in / 108 out at $0.80 / $4. The SDK traces
    # itself (anthropic 2), so each call is its span, carrying llmledger's cost.
    "anthropic": (
        anthropic_transport.zero_code_app,
        ["anthropic.messages.create"] * 2,
        [0.016755, 0.0004456],
        "anthropic",
    ),
    # gemini-2.0-flash 45 in / 23 out, then 9 in / 527 out, at $0.10 / $0.40 per million.
    "google-genai": (
        google_transport.zero_code_app,
        ["generate_content gemini-2.0-flash"] * 2,
        [(45 * 0.1 + 23 * 0.4) / 1e6, (9 * 0.1 + 527 * 0.4) / 1e6],
        "gcp.gemini",
    ),
    # command, billed 58 in / 119 out, then 7 in / 115 out (streamed), at $1 / $2 per million.
    "cohere": (cohere_transport.zero_code_app, ["chat command"] * 2, [0.000296, 0.000237], "cohere"),
    # llama3 on one's own Ollama: no price.
    "ollama": (ollama_transport.zero_code_app, ["chat llama3"] * 2, None, "ollama"),
    # mistral-tiny 11 in / 96 out, then 11 in / 80 out (streamed), at $0.25 / $0.25 per million.
    "mistralai": (mistral_transport.zero_code_app, ["chat mistral-tiny"] * 2, [0.00002675, 0.00002275], "mistral_ai"),
    # Titan Text Lite 8 in / 10 out at $0.15 / $0.20; Claude 3.5 Sonnet through the `us.` profile 603 in / 146 out
    # at $3 / $15.
    "boto3": (
        bedrock_transport.zero_code_app,
        bedrock_transport.ZERO_CODE_SPANS,
        bedrock_transport.ZERO_CODE_COSTS,
        "aws.bedrock",
    ),
}


@pytest.fixture(scope="session")
def llmledger_wheel(tmp_path_factory):
    return one_sdk.build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.mark.parametrize("sdk", one_sdk.SDKS)
def test_an_app_with_only_one_sdk_installed_records_a_costed_span_per_call(sdk, llmledger_wheel, tmp_path):
    python = one_sdk.environment_with_only(sdk, llmledger_wheel)
    installed = subprocess.run(
        [
            str(python),
            "-c",
            "import importlib.metadata as m, json; print(json.dumps("
            "sorted(d.metadata['Name'] for d in m.distributions())))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert set(json.loads(installed.stdout)) & set(one_sdk.SDKS) == {sdk}

    app, names, costs, provider = APPS[sdk]
    spans = zero_code.exported_spans(app(), tmp_path, python=python, OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="")

    assert [s["name"] for s in spans] == names
    assert {s["attributes"]["gen_ai.provider.name"] for s in spans} == {provider}
    if costs is None:  # a model with no price anywhere (one's own Ollama): flagged unpriced, never $0
        assert [s["attributes"].get("llmledger.cost.unpriced") for s in spans] == [True] * len(names)
        assert not any("gen_ai.usage.cost" in s["attributes"] for s in spans)
        return
    assert [s["attributes"]["gen_ai.usage.cost"] for s in spans] == pytest.approx(costs, rel=1e-9)
    assert {s["attributes"]["llmledger.price.source"] for s in spans} == {"genai-prices"}
