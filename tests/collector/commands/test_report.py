# SPDX-License-Identifier: Apache-2.0
"""`llmledger report` says where the money went, links the costliest traces, and names the unpriced calls."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from time import time_ns

import pytest


def usd(value: Decimal) -> str:
    return f"${value:,.6f}"


@pytest.fixture(scope="module")
def report(cli, loaded):
    result = cli("report", "--since", "7d", "--jaeger-url", "http://localhost:16686/", "--traces", "3")
    assert result.returncode == 0, result.stderr
    return result.stdout


def section(report: str, title: str) -> list[str]:
    lines = report.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].strip()), len(lines))
    return lines[start + 1 : end]


def test_the_total_is_the_sum_of_every_call(report, loaded):
    total = sum((call.total_cost for call in loaded), Decimal(0))
    assert f"Total spend {usd(total)} in {len(loaded)} calls" in report


def test_spend_by_model_lists_each_model_with_its_calls_and_cost(report, loaded):
    spend: dict[str, Decimal] = defaultdict(Decimal)
    calls: dict[str, int] = defaultdict(int)
    for call in loaded:
        spend[call.response_model] += call.total_cost
        calls[call.response_model] += 1
    lines = section(report, "Spend by model")
    for model in spend:
        (line,) = [line for line in lines if f" {model} " in line]
        assert line.split()[2] == str(calls[model])
        assert line.endswith(usd(spend[model]))


def test_spend_by_provider_service_and_day_each_add_up_to_the_total(report, loaded):
    total = sum((call.total_cost for call in loaded), Decimal(0))
    for title in ("Spend by provider", "Spend by service", "Spend by day (UTC)"):
        amounts = [Decimal(line.split()[-1].lstrip("$").replace(",", "")) for line in section(report, title)[1:]]
        rounding = len(amounts) * Decimal("0.0000005")  # each line is shown to six places
        assert abs(sum(amounts, Decimal(0)) - total) <= rounding, title


def test_the_most_expensive_traces_come_first_with_jaeger_links(report, loaded):
    by_trace: dict[str, Decimal] = defaultdict(Decimal)
    for call in loaded:
        by_trace[call.trace_id] += call.total_cost
    top = sorted(by_trace, key=lambda trace: (-by_trace[trace], trace))[:3]
    lines = section(report, "Most expensive traces")[1:]
    assert [line.split()[0] for line in lines] == top
    for trace, line in zip(top, lines, strict=True):
        assert usd(by_trace[trace]) in line
        assert line.endswith(f"http://localhost:16686/trace/{trace}")


def test_cache_savings_are_reported(report, loaded):
    savings = sum((call.cache_savings for call in loaded), Decimal(0))
    read = sum(call.cache_read_input_tokens for call in loaded)
    share = Decimal(read) / sum(call.input_tokens for call in loaded) * 100
    assert f"Cache savings: {usd(savings)} saved; {share:.1f}% of input tokens were cache reads" in report


def test_unpriced_calls_are_named_and_kept_out_of_the_totals(report, loaded):
    unpriced = [call for call in loaded if call.cost_source == "unpriced"]
    assert f"Unpriced calls: {len(unpriced)} calls have no known price" in report
    (line,) = [line for line in section(report, "Unpriced calls")[1:] if not line.strip().startswith("(")]
    assert line.split()[:3] == ["vllm", "llama-local", str(len(unpriced))]


def test_a_tenant_filter_and_an_empty_period(cli, loaded):
    acme = cli("report", "--tenant", "acme")
    nobody = cli("report", "--tenant", "nobody")

    acme_total = sum((call.total_cost for call in loaded if call.tenant == "acme"), Decimal(0))
    assert f"Total spend {usd(acme_total)}" in acme.stdout
    assert "No LLM calls recorded in this period." in nobody.stdout


def test_a_bad_period_exits_2(cli):
    result = cli("report", "--since", "a week")

    assert result.returncode == 2
    assert "--since 'a week' is not an age like 30m, 24h, 7d or 4w" in result.stderr


def test_a_trace_is_listed_whole_or_not_at_all(cli, loaded):
    """Traces are those that started in the period, with all their calls: the trace rollup holds a row per call
    until its parts merge, so a filter on rows would list a trace that started earlier with part of its cost."""
    started_earlier = f"{1:032x}"  # calls 1 h, 3 h and a little over 5 h ago (`sample_calls`)
    in_period = [call for call in loaded if call.timestamp_ns > time_ns() - 4 * 3600 * 10**9]
    assert {call.trace_id for call in in_period} == {started_earlier}
    result = cli("report", "--since", "4h", "--traces", "3")
    assert result.returncode == 0, result.stderr
    assert started_earlier not in "\n".join(section(result.stdout, "Most expensive traces"))
