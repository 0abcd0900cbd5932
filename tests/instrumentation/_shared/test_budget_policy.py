# SPDX-License-Identifier: Apache-2.0
"""The budget policy reaches the span lifecycle only by being put in force: in code, or from the environment at
the first call. Importing the budgets package puts nothing in force, and an app that sets no budgets never
loads it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

import pytest

from llmledger.instrumentation._shared import budget_policy
from tests.instrumentation import zero_code
from tests.instrumentation.conftest import QUESTION
from tests.instrumentation.openai.transport import CHAT, zero_code_client


class _Hold:
    def __init__(self) -> None:
        self.closed: list[tuple[Decimal | None, bool]] = []

    def close(self, cost: Decimal | None, complete: bool = True) -> None:
        self.closed.append((cost, complete))


class _Policy:
    """Holds every call, noting how many requests the server had seen when it was asked."""

    def __init__(self, replay: Any) -> None:
        self.replay = replay
        self.asked: list[tuple[str | None, int]] = []
        self.hold = _Hold()

    def check(self, invocation: Any, arguments: Mapping[str, Any]) -> _Hold:
        self.asked.append((arguments.get("model"), self.replay.requests))
        return self.hold


@pytest.fixture(autouse=True)
def nothing_in_force(monkeypatch) -> Iterator[None]:
    monkeypatch.delenv(budget_policy.FILE_ENV, raising=False)
    budget_policy.reset()
    yield
    budget_policy.reset()


def _fresh(code: str, **env: str) -> Any:
    """What `code`, run in a fresh interpreter, printed last, as JSON."""
    environment = {key: value for key, value in os.environ.items() if key != budget_policy.FILE_ENV}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=True,
        env={**environment, **env},
    )
    return json.loads(done.stdout.splitlines()[-1])


def test_the_policy_put_in_force_is_asked_before_the_request_and_its_hold_settles_at_the_real_cost(
    replay, replay_client, span_exporter
):
    policy = _Policy(replay)
    assert budget_policy.use(policy) is None

    replay_client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION)

    assert policy.asked == [("gpt-4o-mini", 0)]  # before anything was sent
    (span,) = span_exporter.get_finished_spans()
    (cost, complete), *more = policy.hold.closed
    assert more == [] and complete is True
    assert float(cost) == span.attributes["gen_ai.usage.cost"] > 0


def test_a_reset_policy_is_asked_no_more(replay, replay_client):
    policy = _Policy(replay)
    budget_policy.use(policy)
    assert budget_policy.reset() is policy

    replay_client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION)

    assert policy.asked == []
    assert budget_policy.in_force() is None  # no budget file named: nothing to load


def test_importing_the_budgets_package_puts_nothing_in_force(tmp_path):
    budget_file = tmp_path / "budgets.yaml"
    budget_file.write_text("budgets:\n  - {name: tiny, window: day, limit_usd: 1, action: raise}\n")
    before, loaded = _fresh(
        """
        import json
        import llmledger.budgets
        from llmledger.instrumentation.budgets import enforcement  # noqa: F401 - imported, and nothing more
        from llmledger.instrumentation._shared import budget_policy
        before = budget_policy.use(None)  # what was in force, without reading the environment
        budget_policy.reset()
        print(json.dumps([repr(before), type(budget_policy.in_force()).__name__]))
        """,
        LLMLEDGER_BUDGETS_FILE=str(budget_file),
    )
    assert before == "None"
    assert loaded == "Enforcement"  # read when asked for, explicitly


def test_an_app_that_sets_no_budgets_never_loads_the_budgets_package(tmp_path):
    spans = zero_code.exported_spans(
        zero_code_client(*CHAT)
        + """
        import sys
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
        sys.exit(5 if "llmledger.instrumentation.budgets" in sys.modules else 0)
        """,
        tmp_path,
    )
    assert len(spans) == 1
