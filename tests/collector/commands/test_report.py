# SPDX-License-Identifier: Apache-2.0
"""`llmledger report` says where the money went, links the costliest traces, and names the unpriced calls."""

from __future__ import annotations

import csv
import io
import json
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


def test_json_is_one_document_with_every_section_and_exact_money(cli, loaded):
    result = cli("report", "--format", "json", "--traces", "2", "--jaeger-url", "http://jaeger:16686")

    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    total = sum((call.total_cost for call in loaded), Decimal(0))
    assert document["period"] == {"since": "7d", "seconds": 7 * 86400, "tenant": None}
    assert Decimal(document["total"]["spend_usd"]) == total  # a decimal string: exact, never a float
    assert document["total"]["calls"] == len(loaded)
    by_model = {row["model"]: Decimal(row["spend_usd"]) for row in document["spend_by_model"]}
    assert sum(by_model.values(), Decimal(0)) == total
    assert [trace["link"] for trace in document["traces"]] == [
        f"http://jaeger:16686/trace/{trace['trace_id']}" for trace in document["traces"]
    ]
    assert len(document["traces"]) == 2
    assert {"spend_by_provider", "spend_by_service", "spend_by_day", "cache_savings", "unpriced"} <= set(document)


@pytest.mark.parametrize("fmt", ["jsonl", "jsonlines"])
def test_json_lines_give_one_record_a_line_each_naming_its_section(cli, loaded, fmt):
    result = cli("report", "--format", fmt)

    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records[0]["section"] == "total" and records[0]["calls"] == len(loaded)
    days = [record for record in records if record["section"] == "spend_by_day"]
    assert sum(record["calls"] for record in days) == len(loaded)


def test_csv_is_one_table_with_a_section_column(cli, loaded):
    result = cli("report", "--format", "csv")

    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    total = sum((call.total_cost for call in loaded), Decimal(0))
    providers = [row for row in rows if row["section"] == "spend_by_provider"]
    assert sum((Decimal(row["spend_usd"]) for row in providers), Decimal(0)) == total
    assert [row["section"] for row in rows][:2] == ["total", "cache"]


def test_an_empty_period_is_said_in_every_format(cli, loaded):
    table = cli("report", "--tenant", "nobody")
    document = cli("report", "--tenant", "nobody", "--format", "json")

    assert "No LLM calls recorded in this period." in table.stdout
    assert json.loads(document.stdout)["total"]["calls"] == 0
    assert json.loads(document.stdout)["spend_by_model"] == []
    assert document.stderr == "no LLM calls in the last 7d (tenant nobody)\n"
