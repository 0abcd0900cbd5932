# SPDX-License-Identifier: Apache-2.0
"""Shared budgets: the collector's status, polled over loopback HTTP, makes other processes' spend count."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from llmledger import Budget, BudgetExceeded, Scope, Window, attributes, budgets
from llmledger.instrumentation.budgets._remote import StatusPoller, parse_status
from tests.instrumentation.budgets.support import QUESTION, Clock

pytestmark = pytest.mark.usefixtures("expensive")


class StatusServer:
    """Serves `document` as JSON at /v1/budgets/status, like the collector."""

    def __init__(self) -> None:
        self.document: object = {"generated_at": "2026-03-28T12:00:00Z", "budgets": []}
        self.served = 0
        self.delay = 0.0
        self.authorization: str | None = None
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                time.sleep(server.delay)
                server.served += 1
                server.authorization = self.headers.get("Authorization")
                body = json.dumps(server.document).encode() if server.document is not None else b"{not json"
                self.send_response(200 if self.path == "/v1/budgets/status" else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}/v1/budgets/status"
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._http.shutdown()
        self._http.server_close()


class SlowHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        time.sleep(0.05)


@pytest.fixture
def status_server() -> Iterator[StatusServer]:
    server = StatusServer()
    yield server
    server.close()


def entry(spent: str, name: str = "team", key: dict | None = None) -> dict:
    return {
        "name": name,
        "key": key or {},
        "window_start": "2026-03-28T00:00:00+00:00",
        "window_end": "2026-03-29T00:00:00+00:00",
        "limit_usd": "1",
        "spent_usd": spent,
        "fraction": float(spent),
        "burn_rate_usd_per_hour": 0.1,
        "projected_usd": spent,
        "action": "raise",
    }


TEAM = Budget("team", Scope(), Window("day"), Decimal(1), "raise")


def test_spend_from_other_processes_makes_a_local_call_refused(status_server, replay, replay_client):
    budgets.configure([TEAM], status_url=status_server.url, poll_seconds=3600, now=Clock())
    replay_client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION, max_tokens=5)  # $0.212 here

    status_server.document = {"generated_at": "2026-03-28T12:00:00Z", "budgets": [entry("0.8")]}
    assert budgets.refresh()
    with pytest.raises(BudgetExceeded, match=r"spent \$1.012"):  # 0.8 shared + 0.212 settled here since 11:59
        replay_client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION, max_tokens=5)
    assert replay.requests == 1


def test_the_poller_fetches_in_the_background(status_server, replay, replay_client):
    status_server.document = {"generated_at": "2026-03-28T12:00:00Z", "budgets": [entry("0.9")]}
    budgets.configure([TEAM], status_url=status_server.url, poll_seconds=0.05, now=Clock())
    polled = threading.Event()
    for _ in range(200):  # bounded: at most 10 s
        if status_server.served >= 2:  # a second fetch: the first one's snapshot is in place
            break
        polled.wait(0.05)
    assert status_server.served >= 2
    with pytest.raises(BudgetExceeded):
        replay_client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION, max_tokens=5)
    assert replay.requests == 0


def test_per_pools_match_the_status_key(status_server, replay_client):
    per_user = Budget("users", Scope(), Window("day"), Decimal(1), "raise", per=("user",))
    budgets.configure([per_user], status_url=status_server.url, poll_seconds=3600, now=Clock())
    status_server.document = {
        "generated_at": "2026-03-28T12:00:00Z",
        "budgets": [entry("0.9", "users", {"user": "ann"}), entry("0", "users", {"user": "bob"})],
    }
    assert budgets.refresh()
    with attributes(user_id="ann"), pytest.raises(BudgetExceeded, match="per user=ann"):
        replay_client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION, max_tokens=5)
    with attributes(user_id="bob"):
        replay_client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION, max_tokens=5)


def test_poll_failures_are_logged_never_raised_and_calls_go_on(status_server, replay_client, caplog):
    caplog.set_level(logging.DEBUG, "llmledger")
    status_server.document = None  # malformed JSON
    budgets.configure([TEAM], status_url=status_server.url, poll_seconds=3600, now=Clock())
    assert not budgets.refresh()
    assert not budgets.refresh()
    replay_client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION, max_tokens=5)
    failures = [r for r in caplog.records if "cannot read budget status" in r.getMessage()]
    levels = [r.levelno for r in failures]  # the background poll and the two refreshes
    assert len(levels) >= 2 and levels[0] == logging.WARNING and set(levels[1:]) == {logging.DEBUG}


def test_overlapping_polls_warn_once_and_take_turns(status_server, caplog):
    """A refresh() racing the background poll must not log the same failure twice at WARNING."""
    caplog.set_level(logging.DEBUG, "llmledger")
    status_server.document, status_server.delay = None, 0.2
    poller = StatusPoller(status_server.url, interval=3600)
    slow_log = SlowHandler()  # like a log written to a slow stderr: the other threads run meanwhile
    logging.getLogger("llmledger").addHandler(slow_log)
    try:
        threads = [threading.Thread(target=poller.poll) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        logging.getLogger("llmledger").removeHandler(slow_log)
    levels = [r.levelno for r in caplog.records if "cannot read budget status" in r.getMessage()]
    assert levels == [logging.WARNING, logging.DEBUG, logging.DEBUG]


def test_a_poller_stopped_during_a_fetch_does_not_warn_when_it_fails(status_server, caplog):
    """Its failure would otherwise surface after budgets were reconfigured, or in the next test's log."""
    caplog.set_level(logging.DEBUG, "llmledger")
    status_server.document, status_server.delay = None, 0.5
    poller = StatusPoller(status_server.url, interval=3600)
    poller.start()
    time.sleep(0.1)  # the first fetch is waiting on the server
    poller.stop()
    assert poller._thread is not None
    poller._thread.join(5)
    failures = [r for r in caplog.records if "cannot read budget status" in r.getMessage()]
    assert [r.levelno for r in failures] in ([], [logging.DEBUG])


def test_the_poller_sends_the_collectors_bearer_token_when_one_is_set(status_server, monkeypatch):
    monkeypatch.setenv("LLMLEDGER_BUDGETS_TOKEN", "s3cret")
    budgets.configure([TEAM], status_url=status_server.url, poll_seconds=3600)

    assert budgets.refresh()
    assert status_server.authorization == "Bearer s3cret"


def test_an_unreachable_collector_is_logged(caplog):
    budgets.configure([TEAM], status_url="http://127.0.0.1:9/v1/budgets/status", poll_seconds=3600)
    assert not budgets.refresh()
    assert any("cannot read budget status" in r.getMessage() for r in caplog.records)


def test_the_status_document_is_read_to_the_contract():
    parsed = parse_status({"generated_at": "2026-03-28T12:00:00Z", "budgets": [entry("0.25", key={"user": "ann"})]})
    ((name, key), spend), *_ = parsed.items()
    assert (name, key) == ("team", frozenset({("user", "ann")}))
    assert spend.spent == Decimal("0.25")
    assert spend.window_start == datetime(2026, 3, 28, tzinfo=UTC)
    assert spend.generated_at == datetime(2026, 3, 28, 12, tzinfo=UTC)
    with pytest.raises(ValueError):
        parse_status({"budgets": [entry("1")]})  # no generated_at
