# SPDX-License-Identifier: Apache-2.0
"""Where prices come from: the bundled snapshot offline, the user's file first, clear errors for bad files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from llmledger._core import prices
from llmledger._core.prices import PriceFileError, load_price_file


def test_known_models_are_found_by_dated_snapshot_names():
    price = prices.lookup("openai", "gpt-4o-mini-2024-07-18")
    assert price is not None
    assert (price.input, price.output, price.cache_read) == (Decimal("0.15"), Decimal("0.6"), Decimal("0.075"))
    assert price.source == "genai-prices"


def test_self_hosted_and_unknown_models_have_no_price():
    assert prices.lookup("vllm", "meta-llama/Llama-3.2-1B-Instruct") is None
    assert prices.lookup("openai", "no-such-model-anywhere") is None


def test_the_newest_valid_override_wins(tmp_path, monkeypatch):
    path = tmp_path / "prices.json"
    path.write_text(
        json.dumps(
            {
                "prices": [
                    {"model": "house-model", "valid_from": "2025-01-01", "input": 1, "output": 2},
                    {"model": "house-model", "valid_from": "2026-01-01", "input": 0.5, "output": 1},
                ]
            }
        )
    )
    monkeypatch.setenv("LLMLEDGER_PRICES_FILE", str(path))
    prices.reload()

    old = prices.lookup("vllm", "house-model", datetime(2025, 6, 1, tzinfo=UTC))
    new = prices.lookup("vllm", "house-model", datetime(2026, 6, 1, tzinfo=UTC))
    assert (old.input, new.input) == (Decimal(1), Decimal("0.5"))
    assert prices.lookup("vllm", "house-model", datetime(2024, 6, 1, tzinfo=UTC)) is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("prices: 3", "expected a list"),
        ("prices:\n  - {input: 1, output: 2}", "'model' must be a non-empty string"),
        ("prices:\n  - {model: m, input: 1}", "'input' and 'output'"),
        ("prices:\n  - {model: m, input: cheap, output: 2}", "'input' must be a number"),
        ("prices:\n  - {model: m, input: -1, output: 2}", "finite number ≥ 0"),
        ("prices:\n  - {model: m, valid_from: someday, input: 1, output: 2}", "not a date"),
        ("prices: [", "not valid YAML"),
    ],
)
def test_a_bad_price_file_says_what_is_wrong(tmp_path, content, message):
    path = tmp_path / "prices.yaml"
    path.write_text(content)
    with pytest.raises(PriceFileError, match=message):
        load_price_file(path)


def test_a_new_prices_file_applies_at_once_after_reload(monkeypatch, tmp_path):
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    for path, price in ((first, 1), (second, 3)):
        path.write_text(json.dumps({"prices": [{"model": "house-model", "input": price, "output": price}]}))
    monkeypatch.setenv("LLMLEDGER_PRICES_FILE", str(first))
    prices.reload()
    assert prices.lookup("vllm", "house-model").input == Decimal(1)

    monkeypatch.setenv("LLMLEDGER_PRICES_FILE", str(second))
    prices.reload()
    assert prices.lookup("vllm", "house-model").input == Decimal(3)


def test_a_glob_override_prices_the_call_under_its_own_model_and_keeps_the_pattern_as_provenance(tmp_path, monkeypatch):
    path = tmp_path / "prices.yaml"
    path.write_text(
        "prices:\n"
        '  - {provider: openai, model: "gpt-4o-mini*", input: 0.2, output: 0.8}\n'
        '  - {provider: vllm, model: "house-*", input: 0.01, output: 0.01}\n'
    )
    monkeypatch.setenv("LLMLEDGER_PRICES_FILE", str(path))
    prices.reload()

    dated = prices.lookup("openai", "gpt-4o-mini-2024-07-18")
    plain = prices.lookup("openai", "GPT-4o-mini")
    house = prices.lookup("vllm", "House-Model-7B")

    # A model genai-prices knows is priced under its id, as genai-prices' own price would be: one model either way.
    assert (dated.model, plain.model) == ("gpt-4o-mini", "gpt-4o-mini")
    assert house.model == "House-Model-7B"  # one it does not know, under the name the call gave
    assert (dated.pattern, dated.source, dated.input) == ("gpt-4o-mini*", "override", Decimal("0.2"))
    assert dated.id == plain.id  # one entry, one price id, whichever model it priced
    assert prices.lookup("openai", "gpt-4o").source == "genai-prices"
    assert prices.lookup("openai", "gpt-4o").pattern == ""


@pytest.mark.parametrize(
    ("name", "content", "where"),
    [
        ("prices.yaml", "prices:\n  - model: m\n   input: 1\n", "prices.yaml, line 3, column 4: not valid YAML: "),
        ("prices.yaml", "prices:\n  - {model: m, input: 1\n", "prices.yaml, line 3, column 1: not valid YAML: "),
        ("prices.yaml", "prices:\n  - model: m\x07\n", "prices.yaml, line 2, column 13: not valid YAML: character"),
        ("prices.json", '{"prices": [{"model": "m",, }]}', "prices.json, line 1, column 27: not valid JSON: "),
    ],
)
def test_a_syntax_error_says_at_which_line_and_column(tmp_path, name, content, where):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(PriceFileError) as raised:
        load_price_file(path)
    assert str(raised.value).startswith(f"{path.parent}/{where}")
    assert "\n" not in str(raised.value)  # one line in a log or on a terminal


def test_a_broken_file_is_logged_with_the_variable_file_and_line_and_prices_go_on_without_it(
    tmp_path, monkeypatch, caplog
):
    path = tmp_path / "prices.yaml"
    path.write_text("prices:\n  - {model: gpt-4o-mini, input: 1, output: 2\n")
    monkeypatch.setenv("LLMLEDGER_PRICES_FILE", str(path))
    prices.reload()

    with caplog.at_level("ERROR", logger="llmledger._core.prices"):
        price = prices.lookup("openai", "gpt-4o-mini")

    assert price is not None and price.source == "genai-prices"  # never raised into the app
    (record,) = caplog.records
    assert record.getMessage().startswith(f"LLMLEDGER_PRICES_FILE={path}, line 3, column 1: not valid YAML: ")


def test_the_warm_up_thread_imports_nothing_an_sdk_might_find_half_made():
    """SDKs probe `sys.modules` for optional HTTP stacks (openai: httpx2); a module the warm-up thread is still
    importing would be found there half-made and fail the app's own client. So the package and its imports come
    in the caller's thread, and the thread builds only genai-prices' data."""
    # Each import is noted with the thread that made it, so the answer does not depend on how far the thread
    # got before the caller looked.
    script = textwrap.dedent(
        """
        import sys, threading
        from llmledger._core import prices

        by_thread = []

        class Noted:
            def find_spec(self, name, path=None, target=None):
                if threading.current_thread().name == prices.WARM_UP_THREAD:
                    by_thread.append(name)
                return None

        sys.meta_path.insert(0, Noted())
        prices.warm()
        next(t for t in threading.enumerate() if t.name == prices.WARM_UP_THREAD).join()
        print(" ".join(sorted(set(by_thread))))
        """
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("LLMLEDGER_")}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    imported_by_thread = done.stdout.split()
    assert imported_by_thread, "the thread built the data"
    assert [name for name in imported_by_thread if not name.startswith("genai_prices.data")] == []
