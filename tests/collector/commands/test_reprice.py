# SPDX-License-Identifier: Apache-2.0
"""`llmledger reprice` as users run it: the diff by model on a dry run, the audit on a real one, bad input named;
and a run killed with SIGKILL half-way, then run again, ends exactly where an uninterrupted run ends."""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import sys
import time
import uuid
from decimal import Decimal

import pytest

from llmledger._core import prices
from llmledger.collector.exporters.clickhouse import migrations
from llmledger.collector.exporters.clickhouse.writer import insert_llm_calls
from llmledger.collector.llm_calls import LlmCall

from ..repricing.conftest import priced_calls, totals

_HOUR = 3600 * 10**9
PRICES_A = "prices:\n  - {provider: acme, model: acme-chat, input: 1.00, output: 2.00, cache_read: 0.50}\n"
PRICES_B = "prices:\n  - {provider: acme, model: acme-chat, input: 2.00, output: 3.00, cache_read: 0.25}\n"


def _calls(count: int, now: int) -> list[LlmCall]:
    return [
        LlmCall(
            timestamp_ns=now - (index % 10 + 1) * _HOUR - index * 1_000,
            trace_id=f"{index // 3 + 1:032x}",
            span_id=f"{index + 1:016x}",
            tenant="acme",
            service_name=["support-bot", "search"][index % 2],
            feature=["answer", "summarize"][index % 2],
            user_id=f"user-{index % 7}",
            provider="acme",
            operation="chat",
            request_model="acme-chat",
            response_model="acme-chat",
            input_tokens=1000 + index,
            output_tokens=100 + index % 50,
            cache_read_input_tokens=200 if index % 3 == 0 else 0,
        )
        for index in range(count)
    ]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("prices")
    (folder / "a.yaml").write_text(PRICES_A)
    (folder / "b.yaml").write_text(PRICES_B)
    return folder


def _load(client, count: int, files, now: int | None = None) -> int:
    os.environ[prices.PRICES_FILE_ENV] = str(files / "a.yaml")
    prices.reload()
    try:
        now = now or time.time_ns()
        calls, used = priced_calls(_calls(count, now))
        insert_llm_calls(client, calls, prices=used)
    finally:
        del os.environ[prices.PRICES_FILE_ENV]
        prices.reload()
    return now


@pytest.fixture
def fresh(clickhouse):
    """A database of its own for each test: reprice changes what it holds."""
    created = []

    def make() -> tuple[str, object]:
        name = f"reprice_cli_{uuid.uuid4().hex[:8]}"
        migrations.apply(clickhouse.client, name)
        created.append(name)
        return name, clickhouse.connect(name)

    yield make
    for name in created:
        clickhouse.client.command(f"DROP DATABASE IF EXISTS {name} SYNC")


def _command(clickhouse, database: str, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "llmledger.collector.cli",
        "reprice",
        *args,
        "--clickhouse-url",
        clickhouse.url,
        "--database",
        database,
    ]


def test_a_dry_run_prints_the_change_by_model_and_writes_nothing(clickhouse, fresh, files, cli_env):
    database, client = fresh()
    _load(client, 3, files)
    before = totals(client)

    done = subprocess.run(
        _command(clickhouse, database, "--since", "1d", "--prices", str(files / "b.yaml"), "--dry-run"),
        capture_output=True,
        text=True,
        env=cli_env,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    # Calls 0..2 have 1000..1002 input (call 0 reads 200 of it from the cache) and 100..102 output. Per million
    # tokens, under A: 800 × 1 + 200 × 0.50 + 100 × 2 = 1,100, then 1,001 + 202 = 1,203 and 1,002 + 204 = 1,206:
    # $0.003509; under B: 800 × 2 + 200 × 0.25 + 100 × 3 = 1,950, then 2,002 + 303 = 2,305 and 2,004 + 306 = 2,310:
    # $0.006565.
    assert "acme      acme-chat      3  $0.003509  $0.006565  +$0.003056" in done.stdout
    assert "3 calls examined; 3 would change cost: $0.003509 → $0.006565 (+$0.003056)" in done.stdout
    assert f"price file {files / 'b.yaml'}" in done.stdout
    assert totals(client) == before
    assert client.command("SELECT count() FROM llm_repricing_runs") == 0


def test_a_run_records_why_and_a_second_run_changes_nothing(clickhouse, fresh, files, cli_env):
    database, client = fresh()
    _load(client, 3, files)
    args = ("--since", "1d", "--prices", str(files / "b.yaml"), "--reason", "contract prices")

    first = subprocess.run(_command(clickhouse, database, *args), capture_output=True, text=True, env=cli_env)
    second = subprocess.run(_command(clickhouse, database, *args), capture_output=True, text=True, env=cli_env)

    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert "3 changed cost: $0.003509 → $0.006565 (+$0.003056)" in first.stdout
    assert "0 changed cost: $0.000000 → $0.000000 (+$0.000000)" in second.stdout
    runs = client.query(
        "SELECT Reason, Status, Calls, OldTotal, NewTotal, PriceSource, Command FROM llm_repricing_runs FINAL "
        "ORDER BY StartedAt"
    ).result_rows
    assert [row[:5] for row in runs] == [
        ("contract prices", "done", 3, Decimal("0.003509"), Decimal("0.006565")),
        ("contract prices", "done", 0, Decimal(0), Decimal(0)),
    ]
    assert runs[0][5].startswith(f"price file {files / 'b.yaml'} (b.yaml:")
    assert runs[0][6].startswith("llmledger reprice --since 1d")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--since", "last week"), "--since 'last week' is neither an ISO 8601 time"),
        (("--since", "1d", "--until", "2d"), "is not after --since"),
        (("--since", "1d", "--prices", "/nonexistent/prices.yaml"), "/nonexistent/prices.yaml: cannot be read"),
    ],
)
def test_bad_input_is_named_and_changes_nothing(cli, args, message):
    done = cli("reprice", *args)

    assert done.returncode == 2
    assert message in done.stderr


def test_a_run_killed_half_way_and_run_again_ends_where_an_uninterrupted_run_ends(clickhouse, fresh, files, cli_env):
    calls = 40
    reference, reference_client = fresh()
    target, target_client = fresh()
    now = _load(reference_client, calls, files)
    _load(target_client, calls, files, now)
    args = ("--since", "1d", "--prices", str(files / "b.yaml"), "--batch-size", "2")
    whole = subprocess.run(_command(clickhouse, reference, *args), capture_output=True, text=True, env=cli_env)
    assert whole.returncode == 0, whole.stderr

    process = subprocess.Popen(_command(clickhouse, target, *args), env=cli_env, stdout=subprocess.DEVNULL)
    journaled = 0
    while journaled < 4 and process.poll() is None:  # a tenth of the way
        journaled = target_client.command("SELECT count() FROM llm_call_repricings")
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    cut_short = target_client.command("SELECT count() FROM llm_calls FINAL WHERE RepricedBy != ''")
    assert 0 < cut_short < calls  # killed half-way, not after the end
    assert target_client.command("SELECT Status FROM llm_repricing_runs FINAL") == "running"

    again = subprocess.run(_command(clickhouse, target, *args), capture_output=True, text=True, env=cli_env)
    assert again.returncode == 0, again.stderr

    rows = "SELECT * EXCEPT (IngestedAt, Version, RepricedBy) FROM llm_calls FINAL ORDER BY TraceId, SpanId"
    assert target_client.query(rows).result_rows == reference_client.query(rows).result_rows
    assert totals(target_client) == totals(reference_client)
    journal = "SELECT TraceId, SpanId, count(), sum(NewTotalCost) FROM llm_call_repricings GROUP BY TraceId, SpanId"
    assert sorted(target_client.query(journal).result_rows) == sorted(reference_client.query(journal).result_rows)
    assert target_client.command("SELECT count() FROM llm_call_repricings") == calls  # each call journaled once
    statuses = target_client.query("SELECT Status, Calls FROM llm_repricing_runs FINAL ORDER BY StartedAt").result_rows
    assert [status for status, _ in statuses] == ["done", "done"]
    assert sum(journaled for _, journaled in statuses) == calls


def test_on_a_terminal_a_progress_bar_counts_the_calls_examined(clickhouse, fresh, files, cli_env):
    database, client = fresh()
    _load(client, 3, files)
    controller, terminal = pty.openpty()
    try:
        done = subprocess.run(
            _command(clickhouse, database, "--since", "1d", "--prices", str(files / "b.yaml"), "--dry-run"),
            stdout=subprocess.PIPE,
            stderr=terminal,
            env=cli_env,
            timeout=120,
            check=False,
        )
        os.close(terminal)
        shown = b""
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # the terminal's other end is closed: all was read
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(controller)

    assert done.returncode == 0
    assert "re-pricing [##############################] 3/3 calls" in shown.decode()
    assert b"re-pricing" not in done.stdout
