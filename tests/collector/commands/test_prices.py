# SPDX-License-Identifier: Apache-2.0
"""`llmledger prices show|refresh`, run as users run it: which price a model gets and where it came from, and
newer genai-prices data taken from a (loopback) server, checked first.

The two stale prices of genai-prices' snapshot are the cases: DeepSeek's, from before its September 2025 price
cut (deepseek-chat 0.27 / 0.07 / 1.10 USD per million tokens input / cache read / output, half that off-peak,
where DeepSeek now bills 0.28 / 0.028 / 0.42 at any hour), fixed by a price file; and Together's Mixtral 8x7B at
$0.90 where Together lists $0.60, fixed by a refreshed data file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.core.price_files import TOGETHER_MIXTRAL, bundled_raw, encoded, publishing, with_price

MIXTRAL = TOGETHER_MIXTRAL[1]


@pytest.fixture
def env(tmp_path):
    """The environment of a user's shell with no llmledger variable set, and a data directory of its own."""
    clean = {key: value for key, value in os.environ.items() if not key.startswith("LLMLEDGER_")}
    clean["LLMLEDGER_DATA_DIR"] = str(tmp_path / "data")
    return clean


def llmledger(env, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "llmledger.collector.cli", "prices", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=False)


def test_show_gives_the_time_of_day_price_in_force_and_the_bundled_snapshot_it_came_from(env):
    off_peak = llmledger(env, "show", "deepseek-chat", "--provider", "deepseek", "--at", "2025-10-01T17:00Z")
    peak = llmledger(env, "show", "deepseek-chat", "--provider", "deepseek", "--at", "2025-10-01T12:00")

    assert off_peak.returncode == 0, off_peak.stderr
    lines = off_peak.stdout.splitlines()
    assert lines[0] == "deepseek-chat at deepseek, 2025-10-01 17:00:00 UTC"
    assert lines[1] == "  price      input 0.135 · cache read 0.035 · output 0.55 USD per million tokens"
    assert lines[3] == "  in force   from 2025-10-01 16:30 UTC until 2025-10-02 00:30 UTC (a time-of-day price)"
    assert lines[4].startswith("  source     genai-prices ")
    assert "the snapshot bundled with the package (prices dated up to " in lines[4]
    # At noon (no zone given: UTC) the stale peak price: DeepSeek had cut it to 0.28 / 0.028 / 0.42 by then.
    assert "  price      input 0.27 · cache read 0.07 · output 1.1 USD per million tokens" in peak.stdout


def test_a_price_file_fixes_a_stale_price_and_show_names_the_file_and_entry(env, tmp_path):
    path = tmp_path / "prices.yaml"
    path.write_text(
        "prices:\n"
        "  - provider: deepseek          # DeepSeek's price cut of 5 September 2025, off-peak hours ended\n"
        "    model: deepseek-chat\n"
        "    valid_from: 2025-09-05\n"
        "    input: 0.28\n"
        "    cache_read: 0.028\n"
        "    output: 0.42\n"
    )
    env["LLMLEDGER_PRICES_FILE"] = str(path)

    shown = llmledger(env, "show", "deepseek-chat", "--provider", "deepseek", "--at", "2025-10-01T17:00Z")

    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines()[1:] == [
        "  price      input 0.28 · cache read 0.028 · output 0.42 USD per million tokens",
        "  model      deepseek-chat (provider deepseek)",
        "  in force   all day (no time-of-day price)",
        "  valid from 2025-09-05",
        f"  source     the price file {path} (LLMLEDGER_PRICES_FILE), entry 'deepseek-chat' "
        f"(prices.yaml:{shown.stdout.rsplit('prices.yaml:', 1)[1][:12]})",
    ]


def test_refresh_takes_newer_data_that_show_then_reports_with_its_path(env):
    fixed = encoded(with_price(bundled_raw(), *TOGETHER_MIXTRAL, input_mtok=0.6, output_mtok=0.6))
    target = os.path.join(env["LLMLEDGER_DATA_DIR"], "prices", "genai-prices.json")
    before = llmledger(env, "show", MIXTRAL, "--provider", "together")
    assert "  price      input 0.9 · output 0.9 USD per million tokens" in before.stdout

    with publishing({"/data.json": fixed}) as url:
        refreshed = llmledger(env, "refresh", "--url", f"{url}/data.json")

    assert refreshed.returncode == 0, refreshed.stderr
    assert refreshed.stdout.splitlines()[0].startswith(f"wrote {target}: {len(bundled_raw())} providers, ")
    assert "  replaces  genai-prices " in refreshed.stdout
    after = llmledger(env, "show", MIXTRAL, "--provider", "together")
    assert "  price      input 0.6 · output 0.6 USD per million tokens" in after.stdout
    assert f"  source     genai-prices data file {target} (the data directory; written " in after.stdout


def test_refresh_refuses_a_corrupt_file_and_keeps_the_data_in_place(env):
    fixed = encoded(with_price(bundled_raw(), *TOGETHER_MIXTRAL, input_mtok=0.6, output_mtok=0.6))
    files: dict[str, bytes | int] = {"/data.json": fixed}
    target = os.path.join(env["LLMLEDGER_DATA_DIR"], "prices", "genai-prices.json")
    with publishing(files) as url:
        assert llmledger(env, "refresh", "--url", f"{url}/data.json").returncode == 0
        files["/data.json"] = fixed[:-10]
        refused = llmledger(env, "refresh", "--url", f"{url}/data.json")

    assert refused.returncode == 1
    assert refused.stdout == ""
    assert refused.stderr.startswith(f"llmledger prices refresh: {url}/data.json, line 1, column ")
    assert "not valid JSON" in refused.stderr and "kept the data in place" in refused.stderr
    with open(target, "rb") as file:
        assert file.read() == fixed
    assert "input 0.6 · output 0.6" in llmledger(env, "show", MIXTRAL, "--provider", "together").stdout


def test_an_unusable_data_file_is_said_and_the_bundled_snapshot_shown(env, tmp_path):
    broken = tmp_path / "data.json"
    broken.write_text(json.dumps({"not": "genai-prices"}))
    env["LLMLEDGER_PRICES_DATA"] = str(broken)

    shown = llmledger(env, "show", MIXTRAL, "--provider", "together")

    assert shown.returncode == 0
    assert shown.stderr.splitlines() == [
        f"llmledger prices show: LLMLEDGER_PRICES_DATA={broken}: not genai-prices data: expected a list of "
        "providers, got an object; pricing with the bundled snapshot"
    ]
    assert "input 0.9 · output 0.9" in shown.stdout


def test_a_model_without_a_price_is_unpriced_and_exits_1(env):
    shown = llmledger(env, "show", "house-model-7b", "--provider", "vllm", "--at", "2026-01-01")

    assert shown.returncode == 1
    assert shown.stdout.startswith(
        "house-model-7b at vllm, 2026-01-01 00:00:00 UTC: no price; its calls are unpriced (llmledger.cost.unpriced)"
    )


def test_a_time_that_is_not_iso_8601_is_a_usage_error(env):
    shown = llmledger(env, "show", "gpt-4o-mini", "--at", "yesterday")

    assert shown.returncode == 2
    assert shown.stderr.strip() == (
        "llmledger prices show: --at 'yesterday' is not an ISO 8601 time, e.g. 2026-12-06T17:00Z or 2026-12-06"
    )
