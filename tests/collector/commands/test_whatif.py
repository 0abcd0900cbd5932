# SPDX-License-Identifier: Apache-2.0
"""`llmledger whatif` as users run it: actual, what-if and saving side by side, the identity swap equal to the
actual spend, a bad swap or period named."""

from __future__ import annotations

import json
from decimal import Decimal
from time import time_ns

import pytest

from llmledger.collector.commands.whatif import BY
from llmledger.collector.exporters.clickhouse.writer import insert_llm_calls
from llmledger.collector.llm_calls import LlmCall
from llmledger.collector.repricing.whatif import DIMENSIONS

from ..repricing.conftest import priced_calls

_HOUR = 3600 * 10**9


@pytest.fixture(scope="module")
def history(client):
    now = time_ns()
    calls, used = priced_calls(
        [
            LlmCall(
                timestamp_ns=now - (index + 1) * _HOUR,
                trace_id=f"{index + 1:032x}",
                span_id=f"{index + 1:016x}",
                service_name=["support-bot", "search"][index % 2],
                provider="openai",
                operation="chat",
                request_model=model,
                response_model=model,
                input_tokens=2_000 + 100 * index,
                output_tokens=300 + 10 * index,
                cache_read_input_tokens=1_024 if index % 2 else 0,
            )
            for index, model in enumerate(["gpt-4o", "gpt-4o-mini"] * 4)
        ]
    )
    insert_llm_calls(client, calls, prices=used)
    return calls


def test_the_identity_swap_gives_the_actual_spend_to_the_last_digit(cli, history):
    done = cli(
        "whatif", "--swap", "gpt-4o=gpt-4o", "--swap", "gpt-4o-mini=gpt-4o-mini", "--by", "service", "-f", "json"
    )

    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    actual = sum((call.total_cost for call in history), Decimal(0))
    assert Decimal(document["total"]["actual_usd"]) == Decimal(document["total"]["whatif_usd"]) == actual
    assert Decimal(document["total"]["saving_usd"]) == 0
    assert {row["service"] for row in document["rows"]} == {"support-bot", "search"}
    assert all(row["actual_usd"] == row["whatif_usd"] for row in document["rows"])


def test_a_swap_prints_actual_what_if_and_saving_side_by_side(cli, history):
    done = cli("whatif", "--swap", "gpt-4o=gpt-4o-mini", "--by", "model")

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].endswith("gpt-4o → gpt-4o-mini, by model")
    assert lines[1].split() == ["model", "calls", "swapped", "actual", "what-if", "saving", "saving", "%"]
    by_model = {line.split()[0]: line.split() for line in lines[2:]}
    assert by_model["gpt-4o"][1:3] == ["4", "4"]
    assert by_model["gpt-4o-mini"][1:3] == ["4", "0"]
    assert by_model["gpt-4o-mini"][3] == by_model["gpt-4o-mini"][4]  # not swapped: as it was
    assert Decimal(by_model["gpt-4o"][5].lstrip("$").replace(",", "")) > 0  # the smaller model costs less


def test_a_bad_swap_is_named(cli):
    done = cli("whatif", "--swap", "gpt-4o")

    assert done.returncode == 2
    assert "--swap 'gpt-4o': expected MODEL=OTHER_MODEL" in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--since", "last week"), "--since 'last week' is neither an ISO 8601 time"),
        (("--until", "31d"), "is not after --since"),  # --since is 30d when not given
    ],
)
def test_a_bad_period_is_named(cli, args, message):
    done = cli("whatif", "--swap", "gpt-4o=gpt-4o-mini", *args)

    assert done.returncode == 2
    assert message in done.stderr


def test_the_command_offers_every_grouping_the_what_if_knows():
    assert set(BY) == set(DIMENSIONS)
