# SPDX-License-Identifier: Apache-2.0
"""The dashboard as a person sees it, in headless Chromium: every view renders with data and empty, without a
console error; the filters in the URL change the numbers as the SQL says; trace links open the right trace.
Each view's screenshot is kept in build/dashboard-screenshots/ (docs/dashboard.md shows them)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from llmledger.collector.dashboard import SECTIONS, VIEWS, Dashboard, client_runner
from llmledger.collector.dashboard.server import DashboardServer

JAEGER = "http://jaeger.internal:16686"


@pytest.fixture(scope="module")
def served(loaded) -> Iterator[str]:  # type: ignore[no-untyped-def]
    server = DashboardServer(Dashboard(client_runner(loaded), base="", jaeger_url=JAEGER), port=0, token=None).start()
    yield server.url
    server.stop()


@pytest.fixture(scope="module")
def served_empty(clickhouse, empty) -> Iterator[str]:  # type: ignore[no-untyped-def]
    server = DashboardServer(Dashboard(client_runner(clickhouse.connect(empty)), base=""), port=0, token=None).start()
    yield server.url
    server.stop()


def sections(page) -> dict[str, bool]:  # type: ignore[no-untyped-def]
    """Each section on the page: whether it shows data (not its empty-state sentence)."""
    found = page.evaluate(
        "Array.from(document.querySelectorAll('[data-section]'))"
        ".map(s => [s.dataset.section, s.dataset.empty !== 'true'])"
    )
    return dict(found)


@pytest.mark.parametrize("view", VIEWS)
def test_every_view_renders_its_data_without_console_errors(page, served, screenshots, view):
    assert page.open(f"{served}?view={view}&days=7") == "ready"
    assert page.problems() == []
    shown = sections(page)
    assert list(shown) == list(SECTIONS[view])
    assert set(shown.values()) == {True}
    assert page.evaluate("document.querySelectorAll('.ll-kpi').length") == 6
    page.screenshot(screenshots / f"{view}.png")


@pytest.mark.parametrize("view", VIEWS)
def test_every_view_renders_empty_without_console_errors(page, served_empty, screenshots, view):
    assert page.open(f"{served_empty}?view={view}") == "ready-empty"
    assert page.problems() == []
    assert set(sections(page).values()) == {False}
    assert page.evaluate("document.querySelector('[data-kpi=spend] .ll-kpi-value').textContent") == "$0"
    page.screenshot(screenshots / f"{view}-empty.png")


def kpi(page, name: str) -> str:  # type: ignore[no-untyped-def]
    return str(page.evaluate(f"document.querySelector('[data-kpi={name}] .ll-kpi-value').textContent"))


def test_choosing_a_tenant_changes_the_url_and_the_numbers_as_the_sql_says(page, served, loaded):
    assert page.open(f"{served}?view=breakdown") == "ready"
    everyone = kpi(page, "calls")
    page.evaluate(
        "(() => { const s = document.querySelector('select[name=tenant]'); s.value = 'globex';"
        " s.dispatchEvent(new Event('change')); })()"
    )
    page.settle()
    import time

    deadline = time.monotonic() + 20
    while "tenant=globex" not in page.evaluate("location.search") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert page.settle() == "ready"
    assert page.evaluate("location.search") == "?view=breakdown&tenant=globex"
    ((spend, calls),) = loaded.query(
        "SELECT sum(TotalCost), count() FROM llm_calls FINAL WHERE Tenant = 'globex' "
        "AND Timestamp >= toStartOfHour(now() - toIntervalDay(7))"
    ).result_rows
    assert kpi(page, "calls") == f"{calls:,}" != everyone
    assert Decimal(page.evaluate("document.querySelector('[data-kpi=spend]').dataset.value")) == spend
    assert kpi(page, "spend") == f"${float(spend):.3g}"  # shown to three significant digits below $1
    tenants = page.evaluate(
        "Array.from(document.querySelectorAll('[data-section=spend_by_tenant] .ll-bar-label')).map(e => e.textContent)"
    )
    assert tenants == ["globex"]
    assert page.problems() == []


def test_a_shared_link_opens_the_same_view_and_filters(page, served, loaded):
    assert page.open(f"{served}?view=traces&days=30&service=search&feature=answer") == "ready"
    chosen = page.evaluate(
        "['days','tenant','service','feature'].map(n => document.querySelector('select[name=' + n + ']').value)"
    )
    assert chosen == ["30", "", "search", "answer"]
    assert page.evaluate("document.querySelector('.ll-tabs a.active').dataset.view") == "traces"
    ((calls,),) = loaded.query(
        "SELECT count() FROM llm_calls FINAL WHERE ServiceName = 'search' AND Feature = 'answer' "
        "AND Timestamp >= toStartOfHour(now() - toIntervalDay(30))"
    ).result_rows
    assert kpi(page, "calls") == f"{calls:,}"


def test_trace_links_point_at_the_costliest_traces_in_jaeger(page, served, loaded):
    assert page.open(f"{served}?view=traces") == "ready"
    links = page.evaluate(
        "Array.from(document.querySelectorAll('[data-section=trace_costs] a.ll-trace')).map(a => a.href)"
    )
    costliest = [
        trace
        for (trace,) in loaded.query(
            "SELECT TraceId FROM llm_calls FINAL WHERE Timestamp >= toStartOfHour(now() - toIntervalDay(7)) "
            "GROUP BY TraceId ORDER BY sum(TotalCost) DESC, TraceId LIMIT 20"
        ).result_rows
    ]
    assert links == [f"{JAEGER}/trace/{trace}" for trace in costliest]
    ((trace, span),) = loaded.query(
        "SELECT TraceId, SpanId FROM llm_calls FINAL WHERE Timestamp >= toStartOfHour(now() - toIntervalDay(7)) "
        "ORDER BY TotalCost DESC, Timestamp DESC LIMIT 1"
    ).result_rows
    first_call = page.evaluate("document.querySelector('[data-section=top_calls] a.ll-trace').href")
    assert first_call == f"{JAEGER}/trace/{trace}?uiFind={span}"


def test_the_collector_serves_the_page_openly_and_its_data_only_with_the_token(page, clickhouse, database, loaded):
    from tests.collector.running import start_collector

    token = "dashboard-s3cret"
    collector = start_collector(
        ["--clickhouse-url", clickhouse.url, "--database", database, "--auth-token", token, "--jaeger-url", JAEGER]
    )
    try:
        base = f"http://127.0.0.1:{collector.http_port}"
        assert http_get(f"{base}/ui")[0] == 200
        assert http_get(f"{base}/ui/api/data?view=traces")[0] == 401
        assert http_get(f"{base}/ui/api/data?view=traces", f"Bearer {token}")[0] == 200
        assert http_get(f"{base}/metrics")[0] == 401  # the page being open opens nothing else

        assert page.open(f"{base}/ui?view=traces") == "token"  # asks for the token, shows no data
        assert page.evaluate("document.querySelectorAll('[data-section]').length") == 0
        assert page.open(f"{base}/ui?view=traces#token={token}") == "ready"
        assert page.problems() == []
        assert page.evaluate("location.hash") == ""  # the token leaves the URL at once
        first = page.evaluate("document.querySelector('[data-section=trace_costs] a.ll-trace').href")
        assert first.startswith(f"{JAEGER}/trace/")
    finally:
        collector.stop()


def http_get(url: str, authorization: str | None = None) -> tuple[int, bytes]:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, headers={"Authorization": authorization} if authorization else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_a_provider_without_prices_costs_unknown_not_zero(page, served, loaded):
    assert page.open(f"{served}?view=overview&days=7") == "ready"
    shown = dict(
        page.evaluate(
            "Array.from(document.querySelectorAll('[data-section=spend_by_provider] .ll-bar-row'))"
            ".map(r => [r.querySelector('.ll-bar-label').textContent, r.querySelector('.ll-bar-value').textContent])"
        )
    )
    unknown = dict(
        loaded.query(
            "SELECT Provider, (count(), countIf(CostSource = 'unpriced')) FROM llm_calls FINAL "
            "WHERE Timestamp >= toStartOfHour(now() - toIntervalDay(7)) GROUP BY Provider"
        ).result_rows
    )
    calls, unpriced = unknown["vllm"]
    assert calls == unpriced > 0  # the sample's local model has no price
    assert shown["vllm"] == f"unknown · {calls:,} calls"
    calls, unpriced = unknown["openai"]
    assert 0 < unpriced < calls  # streams whose usage never arrived
    assert shown["openai"].startswith("$") and shown["openai"].endswith(f" · {unpriced:,} unknown")
    assert page.problems() == []
