# SPDX-License-Identifier: Apache-2.0
"""A `BudgetWarning` points at the app's line that made the call, however the call reached the SDK: directly,
awaited, through `with_raw_response`, or through a stream helper that calls `create()` for the app."""

from __future__ import annotations

import asyncio
import linecache
import warnings
from collections.abc import Callable, Iterator
from decimal import Decimal

import openai
import pytest

from llmledger import Budget, BudgetWarning, Scope, Window, budgets
from tests.instrumentation.budgets.support import QUESTION

pytestmark = pytest.mark.usefixtures("expensive")


@pytest.fixture(autouse=True)
def over_budget() -> None:
    """A warn budget every call goes over: the first call of the window warns."""
    budgets.configure([Budget("tiny", Scope(), Window("day"), Decimal("0.000001"), action="warn")])


@pytest.fixture
def warned() -> Iterator[Callable[[], list[tuple[str, str]]]]:
    """The (file, source line) each BudgetWarning issued in the test points at."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield lambda: [
            (w.filename, linecache.getline(w.filename, w.lineno).strip())
            for w in caught
            if issubclass(w.category, BudgetWarning)
        ]


def test_a_direct_call(replay_client, warned):
    replay_client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION, max_tokens=5)

    assert warned() == [
        (__file__, 'replay_client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION, max_tokens=5)')
    ]


def test_a_call_through_with_raw_response(replay_client, warned):
    raw = replay_client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=QUESTION)
    raw.parse()

    assert warned() == [
        (
            __file__,
            'raw = replay_client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=QUESTION)',
        )
    ]


def test_a_call_through_a_stream_helper(replay_client, warned):
    with replay_client.chat.completions.stream(model="gpt-4", messages=QUESTION, max_tokens=5) as stream:
        stream.get_final_completion()

    assert warned() == [
        (
            __file__,
            'with replay_client.chat.completions.stream(model="gpt-4", messages=QUESTION, max_tokens=5) as stream:',
        )
    ]


def test_an_awaited_call(replay_async_client, warned):
    async def app() -> None:
        await replay_async_client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION, max_tokens=5)

    asyncio.run(app())

    assert warned() == [
        (
            __file__,
            'await replay_async_client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION, max_tokens=5)',
        )
    ]


def test_the_apps_own_helper_is_the_line_named(replay_client, warned):
    """The app's line nearest the call, not the line that called the app's helper."""

    def ask(client: openai.OpenAI) -> None:
        client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION, max_tokens=5)

    ask(replay_client)

    assert warned() == [
        (__file__, 'client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION, max_tokens=5)')
    ]
