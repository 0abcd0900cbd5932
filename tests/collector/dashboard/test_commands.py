# SPDX-License-Identifier: Apache-2.0
"""`llmledger report --html FILE` and `llmledger ui`, run as a user runs them, and opened in Chromium."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path

from llmledger.collector.dashboard import SECTIONS, VIEWS

JAEGER = "http://jaeger.internal:16686"


def llmledger(clickhouse, database, *args: str, **kwargs) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    env = {key: value for key, value in os.environ.items() if not key.startswith("LLMLEDGER_")}
    command = [sys.executable, "-m", "llmledger.collector.cli", *args]
    command += ["--clickhouse-url", clickhouse.url, "--database", database]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=False, **kwargs)


def test_report_html_is_one_file_with_every_view_that_opens_offline(
    clickhouse, database, loaded, page, tmp_path, screenshots
):
    target = tmp_path / "spend.html"
    result = llmledger(clickhouse, database, "report", "--since", "7d", "--jaeger-url", JAEGER, "--html", str(target))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert f"wrote {target} (the last 7 day(s), all tenants)" in result.stderr
    html = target.read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # nothing to fetch: scripts and styles inline

    assert page.open(target.as_uri()) == "ready"
    assert page.problems() == []
    shown = page.evaluate("Array.from(document.querySelectorAll('[data-section]')).map(s => s.dataset.section)")
    assert shown == [section for view in VIEWS for section in SECTIONS[view]]
    assert page.evaluate("Array.from(document.querySelectorAll('select')).every(s => s.disabled)")
    ((spend,),) = loaded.query(
        "SELECT sum(TotalCost) FROM llm_calls FINAL WHERE Timestamp >= toStartOfHour(now() - toIntervalDay(7))"
    ).result_rows
    assert Decimal(page.evaluate("document.querySelector('[data-kpi=spend]').dataset.value")) == spend
    assert page.evaluate("document.querySelector('a.ll-trace').href").startswith(f"{JAEGER}/trace/")
    page.screenshot(screenshots / "report-html.png")


def test_report_html_says_when_it_cannot_write(clickhouse, database, loaded, tmp_path):
    result = llmledger(clickhouse, database, "report", "--html", str(tmp_path))
    assert result.returncode == 2
    assert f"llmledger report: --html {tmp_path}: is a directory; give a file name" in result.stderr


def test_llmledger_ui_serves_the_dashboard_and_wants_its_token(clickhouse, database, loaded, page):
    env = {key: value for key, value in os.environ.items() if not key.startswith("LLMLEDGER_")}
    command = [sys.executable, "-m", "llmledger.collector.cli", "ui", "--port", "0", "--auth-token", "ui-token"]
    command += ["--clickhouse-url", clickhouse.url, "--database", database]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stderr is not None
        said = []
        while not (found := re.search(r"the dashboard is at (http://\S+) \(bearer token required\)", "".join(said))):
            line = process.stderr.readline()  # a warning of the interpreter's may come first
            assert line, "llmledger ui exited saying: " + "".join(said)
            said.append(line)
        url = found.group(1)
        assert status(url) == 200
        assert status(url + "api/data") == 401
        assert status(url + "api/data?view=traces", "Bearer ui-token") == 200
        assert status(url + "api/data?view=everything", "Bearer ui-token") == 400
        assert page.open(f"{url}?view=breakdown#token=ui-token") == "ready"
        assert page.problems() == []
    finally:
        process.terminate()
        deadline = time.monotonic() + 20
        while process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0


def status(url: str, authorization: str | None = None) -> int:
    request = urllib.request.Request(url, headers={"Authorization": authorization} if authorization else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_the_page_embeds_no_value_as_markup(page, tmp_path: Path):
    from llmledger.collector.dashboard import Filters, page_html

    hostile = "</script><img src=x onerror=alert(1)>"
    document = {
        "generated_at": "2026-12-07T00:00:00Z",
        "filters": {**Filters().document(), "tenant": hostile},
        "jaeger_url": "",
        "views": ["breakdown"],
        "total": {"spend_usd": "1", "calls": 1},
        "choices": {"tenant": [hostile], "service": [], "feature": []},
        "spend_by_service": [{"service": hostile, "environment": "", "spend_usd": "1", "calls": 1}],
        "spend_by_feature": [],
        "spend_by_user": [],
        "spend_by_tenant": [{"tenant": hostile, "spend_usd": "1", "calls": 1, "users": 0}],
    }
    target = tmp_path / "hostile.html"
    target.write_bytes(page_html(data=document))
    assert page.open(target.as_uri()) == "ready"
    assert page.evaluate("document.querySelectorAll('img').length") == 0
    labels = page.evaluate("Array.from(document.querySelectorAll('.ll-bar-label')).map(e => e.textContent)")
    assert labels == [hostile, hostile]
