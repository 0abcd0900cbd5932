# SPDX-License-Identifier: Apache-2.0
"""A price file can price calls billed per search (Cohere's rerank), which no bundled price covers."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from llmledger._core.prices import PriceFileError, load_price_file


def test_an_entry_may_price_searches_alone_and_its_token_rates_are_then_zero(tmp_path):
    path = tmp_path / "prices.yaml"
    path.write_text("prices:\n  - {provider: cohere, model: 'rerank-*', search_unit: 0.002}\n")

    (entry,) = load_price_file(path)

    assert entry.price.search_unit == Decimal("0.002")
    assert (entry.price.input, entry.price.output) == (Decimal(0), Decimal(0))
    assert entry.matches("cohere", "rerank-english-v3.0", entry.valid_from)


def test_an_entry_may_price_tokens_and_searches_together(tmp_path):
    path = tmp_path / "prices.yaml"
    path.write_text("prices:\n  - {model: 'house-rerank', input: 0.1, output: 0.2, search_unit: 0.001}\n")

    (entry,) = load_price_file(path)

    assert (entry.price.input, entry.price.output, entry.price.search_unit) == (
        Decimal("0.1"),
        Decimal("0.2"),
        Decimal("0.001"),
    )


def test_token_prices_say_nothing_of_searches(tmp_path):
    path = tmp_path / "prices.yaml"
    path.write_text("prices:\n  - {model: 'm', input: 1, output: 2}\n")

    (entry,) = load_price_file(path)

    assert entry.price.search_unit is None


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{model: m}", "or 'search_unit' (USD per search)"),
        ("{model: m, search_unit: -1}", "'search_unit' must be a finite number ≥ 0"),
        ("{model: m, search_unit: lots}", "'search_unit' must be a number"),
    ],
)
def test_a_bad_search_unit_entry_says_what_is_wrong(tmp_path, entry, message):
    path = tmp_path / "prices.yaml"
    path.write_text(f"prices:\n  - {entry}\n")

    with pytest.raises(PriceFileError, match=re.escape(message)):
        load_price_file(path)


def test_two_entries_differing_only_in_their_search_price_are_two_prices(tmp_path):
    path = tmp_path / "prices.yaml"
    path.write_text(
        "prices:\n  - {model: 'a', search_unit: 0.001}\n  - {model: 'a', search_unit: 0.002}\n",
    )

    first, second = load_price_file(path)

    assert first.price.id != second.price.id
