# SPDX-License-Identifier: Apache-2.0
"""An instrumentor activates for its own SDK alone, and patches it only once the app imports it."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
from importlib.metadata import distribution

import pytest
from packaging.requirements import Requirement
from wrapt import FunctionWrapper

from llmledger.instrumentation._shared.instrumentor import SdkInstrumentor
from llmledger.instrumentation.anthropic import AnthropicInstrumentor
from llmledger.instrumentation.bedrock import BedrockInstrumentor
from llmledger.instrumentation.cohere import CohereInstrumentor
from llmledger.instrumentation.google_genai import GoogleGenAIInstrumentor
from llmledger.instrumentation.litellm import LiteLLMInstrumentor
from llmledger.instrumentation.mistral import MistralInstrumentor
from llmledger.instrumentation.ollama import OllamaInstrumentor
from llmledger.instrumentation.openai import OpenAIInstrumentor

INSTRUMENTORS = (
    OpenAIInstrumentor,
    AnthropicInstrumentor,
    GoogleGenAIInstrumentor,
    CohereInstrumentor,
    OllamaInstrumentor,
    MistralInstrumentor,
    BedrockInstrumentor,
    LiteLLMInstrumentor,
)


def _fresh(code: str) -> dict:
    """Run `code` in a fresh interpreter (this one has every SDK loaded already); what it printed as JSON."""
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def test_instrumenting_imports_no_sdk_and_no_prices_until_the_app_imports_one():
    seen = _fresh(
        """
        import json, sys
        from llmledger.instrumentation.anthropic import AnthropicInstrumentor
        from llmledger.instrumentation.google_genai import GoogleGenAIInstrumentor
        from llmledger.instrumentation.openai import OpenAIInstrumentor
        for instrumentor in (OpenAIInstrumentor, AnthropicInstrumentor, GoogleGenAIInstrumentor):
            instrumentor().instrument()
        heavy = ("openai", "anthropic", "google.genai", "genai_prices", "httpx", "httpx2")
        before = sorted(m for m in heavy if m in sys.modules)
        import openai
        from openai.resources.chat.completions.completions import Completions
        after = sorted(m for m in ("anthropic", "google.genai") if m in sys.modules)
        print(json.dumps({"before": before, "wrapped": type(Completions.__dict__["create"]).__name__, "after": after}))
        """
    )
    assert seen == {"before": [], "wrapped": "FunctionWrapper", "after": []}


def test_an_sdk_imported_before_instrumenting_is_patched_at_once(tracer_provider):
    from openai.resources.embeddings import Embeddings

    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    try:
        assert isinstance(Embeddings.__dict__["create"], FunctionWrapper)
    finally:
        instrumentor.uninstrument()
    assert not isinstance(Embeddings.__dict__["create"], FunctionWrapper)


def test_an_instrumentor_undone_before_the_import_patches_nothing_and_a_second_one_patches_once():
    seen = _fresh(
        """
        import json
        from llmledger.instrumentation.openai import OpenAIInstrumentor
        OpenAIInstrumentor().instrument()
        OpenAIInstrumentor().uninstrument()
        import openai
        from openai.resources.embeddings import Embeddings
        undone = type(Embeddings.__dict__["create"]).__name__
        OpenAIInstrumentor().instrument()
        OpenAIInstrumentor().uninstrument()
        OpenAIInstrumentor().instrument()
        once = type(Embeddings.__dict__["create"].__wrapped__).__name__
        print(json.dumps({"undone": undone, "once": once}))
        """
    )
    assert seen == {"undone": "function", "once": "function"}


class _Pretend(SdkInstrumentor):
    """An instrumentor whose SDK is `json` (always importable), to drive the activation rules."""

    instruments = ("openai >= 1.0",)
    sdk_module = "json"
    patcher = "tests.instrumentation._shared.no_such_patcher"
    scope = "llmledger.tests.pretend"


@pytest.fixture
def pretend():
    instrumentor = _Pretend()
    yield instrumentor
    instrumentor.uninstrument()


def test_an_sdk_outside_the_supported_range_is_skipped_with_one_warning_naming_both_versions(pretend, caplog):
    type(pretend).instruments = ("openai >= 999",)
    with caplog.at_level(logging.DEBUG, logger="llmledger"):
        pretend.instrument(skip_dep_check=True)  # as opentelemetry-instrument loads entry points

    (record,) = [r for r in caplog.records if r.name.startswith("llmledger")]
    assert record.levelno == logging.WARNING
    assert "openai >= 999" in record.getMessage()
    assert f"openai {distribution('openai').version}" in record.getMessage()


def test_an_sdk_that_is_not_installed_is_nothing_to_instrument_and_no_warning(pretend, caplog):
    type(pretend).instruments = ("no-such-llm-sdk >= 1",)
    with caplog.at_level(logging.DEBUG, logger="llmledger"):
        pretend.instrument(skip_dep_check=True)

    assert [r.levelno for r in caplog.records if r.name.startswith("llmledger")] == [logging.DEBUG]


def test_a_failure_while_patching_is_logged_and_never_reaches_the_apps_import(pretend, caplog):
    type(pretend).instruments = ("openai >= 1.0",)
    with caplog.at_level(logging.ERROR, logger="llmledger"):
        pretend.instrument(skip_dep_check=True)  # `json` is imported: the hook runs now, and fails

    (record,) = caplog.records
    assert "could not instrument json" in record.getMessage()
    assert record.exc_info is not None


@pytest.mark.parametrize("instrumentor", INSTRUMENTORS, ids=lambda cls: cls.__name__)
def test_each_instrumentor_declares_its_own_sdk_range_and_the_distribution_lists_it_under_instruments_any(
    instrumentor,
):
    (own,) = instrumentor().instrumentation_dependencies()
    declared = {
        Requirement(line).name: Requirement(line)
        for line in distribution("llmledger").requires or ()
        if 'extra == "instruments-any"' in line
    }
    assert declared[Requirement(own).name].specifier == Requirement(own).specifier
    # An `instruments` extra would make opentelemetry-instrument refuse every entry point unless all SDKs are there.
    assert not any('extra == "instruments"' in line for line in distribution("llmledger").requires or ())
