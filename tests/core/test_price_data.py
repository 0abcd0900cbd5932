# SPDX-License-Identifier: Apache-2.0
"""Which genai-prices data prices come from: LLMLEDGER_PRICES_DATA, else a refreshed file in the data directory,
else the bundled snapshot; chosen once per process, and an unusable file never breaks pricing.

The data files are the bundled snapshot with one price changed: Together's Mixtral 8x7B at the $0.60 per million
tokens Together lists, where the snapshot says $0.90.
"""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest

from llmledger._core import price_data, prices
from tests.core.price_files import TOGETHER_MIXTRAL, bundled_raw, encoded, with_price

REFRESHED = encoded(with_price(bundled_raw(), *TOGETHER_MIXTRAL, input_mtok=0.6, output_mtok=0.6))


def mixtral() -> prices.ModelPrice:
    price = prices.lookup("together", TOGETHER_MIXTRAL[1])
    assert price is not None
    return price


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """An empty data directory, with nothing naming a data file: what a user's machine has before a refresh."""
    monkeypatch.delenv("LLMLEDGER_PRICES_DATA", raising=False)
    monkeypatch.setenv("LLMLEDGER_DATA_DIR", str(tmp_path))
    prices.reload()
    return tmp_path


def test_without_a_data_file_the_bundled_snapshot_prices(data_dir):
    price = mixtral()
    assert (price.input, price.output) == (Decimal("0.9"), Decimal("0.9"))
    assert price.version.startswith("genai-prices ")


def test_a_file_in_the_data_directory_is_preferred_to_the_bundled_snapshot(data_dir):
    (data_dir / "prices").mkdir()
    (data_dir / "prices" / "genai-prices.json").write_bytes(REFRESHED)
    prices.reload()

    price = mixtral()
    assert (price.input, price.output) == (Decimal("0.6"), Decimal("0.6"))
    assert price.source == "genai-prices"
    assert price.version.startswith("genai-prices.json:")  # which file, by a hash of its bytes
    data = price_data.in_force()
    assert data.path == data_dir / "prices" / "genai-prices.json"
    assert "the data directory" in data.describe()


def test_the_variable_names_a_file_or_asks_for_the_bundled_snapshot(data_dir, tmp_path_factory, monkeypatch):
    (data_dir / "prices").mkdir()
    (data_dir / "prices" / "genai-prices.json").write_bytes(REFRESHED)
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "data.json"
    elsewhere.write_bytes(encoded(with_price(bundled_raw(), *TOGETHER_MIXTRAL, input_mtok=0.5, output_mtok=0.5)))

    monkeypatch.setenv("LLMLEDGER_PRICES_DATA", str(elsewhere))
    prices.reload()
    assert mixtral().input == Decimal("0.5")
    assert price_data.in_force().describe().startswith(f"genai-prices data file {elsewhere} (LLMLEDGER_PRICES_DATA;")

    monkeypatch.setenv("LLMLEDGER_PRICES_DATA", "bundled")
    prices.reload()
    assert mixtral().input == Decimal("0.9")


def test_an_unusable_file_is_logged_naming_it_and_the_bundled_snapshot_prices(data_dir, monkeypatch, caplog):
    broken = data_dir / "broken.json"
    broken.write_bytes(REFRESHED[:1000])
    monkeypatch.setenv("LLMLEDGER_PRICES_DATA", str(broken))
    prices.reload()

    with caplog.at_level(logging.ERROR, logger="llmledger._core.price_data"):
        price = mixtral()

    assert price.input == Decimal("0.9")  # never raised into the app
    (record,) = caplog.records
    assert record.getMessage().startswith(f"LLMLEDGER_PRICES_DATA={broken}, line 1, column ")
    assert "not valid JSON" in record.getMessage()
    assert record.getMessage().endswith("pricing with the bundled genai-prices snapshot instead")


def test_the_data_is_chosen_once_so_a_running_process_keeps_what_it_started_with(data_dir):
    assert mixtral().input == Decimal("0.9")
    (data_dir / "prices").mkdir()
    (data_dir / "prices" / "genai-prices.json").write_bytes(REFRESHED)

    assert mixtral().input == Decimal("0.9")  # a refresh applies to processes started after it
    prices.reload()
    assert mixtral().input == Decimal("0.6")


def test_a_program_can_name_its_data_directory(data_dir, tmp_path_factory):
    own = tmp_path_factory.mktemp("collector-data")
    (own / "prices").mkdir()
    (own / "prices" / "genai-prices.json").write_bytes(REFRESHED)
    try:
        price_data.use_data_dir(own)  # the collector's --data-dir
        assert mixtral().input == Decimal("0.6")
    finally:
        price_data.use_data_dir(None)
    assert mixtral().input == Decimal("0.9")


def test_the_newest_dated_price_says_how_recent_the_data_is():
    document = bundled_raw()
    newest = price_data.bundled().dated_to
    assert newest is not None
    provider = next(p for p in document if p["models"])
    provider["models"][0]["prices"] = [
        {"prices": {"input_mtok": "1", "output_mtok": "2"}},
        {"constraint": {"start_date": "2099-01-01"}, "prices": {"input_mtok": "1", "output_mtok": "1"}},
    ]
    providers = price_data.verify(encoded(document), "test")
    assert str(price_data.facts(providers)[1]) == "2099-01-01"
