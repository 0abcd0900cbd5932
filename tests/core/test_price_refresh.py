# SPDX-License-Identifier: Apache-2.0
"""`llmledger prices refresh` takes genai-prices' newest data file only once it is sure of it, and atomically.

A loopback server publishes the files, made from the bundled snapshot: a good one with Together's Mixtral 8x7B at
the $0.60 per million tokens Together lists (the snapshot says $0.90), a corrupt one, one in another shape, one
older than the bundled data, one missing a provider. Every refused file leaves the data in place as it was.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from llmledger._core import price_data, prices
from llmledger._core.price_refresh import RefreshError, refresh
from tests.core.price_files import TOGETHER_MIXTRAL, bundled_raw, encoded, publishing, with_price

GOOD = encoded(with_price(bundled_raw(), *TOGETHER_MIXTRAL, input_mtok=0.6, output_mtok=0.6))


def _older() -> bytes:
    """The good file, with every price dated after 2025-12-31 left out: older than the bundled data."""

    def early(price: dict) -> bool:
        return str(price.get("constraint", {}).get("start_date", "2000-01-01")) <= "2025-12-31"

    document = with_price(bundled_raw(), *TOGETHER_MIXTRAL, input_mtok=0.6, output_mtok=0.6)
    for provider in document:
        for model in provider["models"]:
            if isinstance(model["prices"], list):
                model["prices"] = [price for price in model["prices"] if early(price)] or model["prices"][:1]
            if model.get("price_variants"):
                model["price_variants"] = [variant for variant in model["price_variants"] if early(variant)]
    return encoded(document)


def _without(provider_id: str) -> bytes:
    return encoded([provider for provider in bundled_raw() if provider["id"] != provider_id])


@pytest.fixture
def target(tmp_path, monkeypatch):
    """Where the refreshed file goes: the data directory of this test, which prices then read."""
    monkeypatch.delenv("LLMLEDGER_PRICES_DATA", raising=False)
    monkeypatch.setenv("LLMLEDGER_DATA_DIR", str(tmp_path))
    prices.reload()
    return price_data.default_file()


@pytest.fixture
def site():
    files: dict[str, bytes | int] = {"/data.json": GOOD}
    with publishing(files) as url:
        yield files, url


def mixtral_rate() -> Decimal:
    prices.reload()  # the file is read by processes that start after the refresh; here, after a reload
    price = prices.lookup("together", TOGETHER_MIXTRAL[1])
    assert price is not None
    return price.input  # type: ignore[return-value]


def test_a_good_file_is_written_into_the_data_directory_and_then_prices(target, site):
    _, url = site
    done = refresh(target, f"{url}/data.json")

    assert target.read_bytes() == GOOD
    assert (done.path, done.url, done.unchanged) == (target, f"{url}/data.json", False)
    assert done.providers == len(bundled_raw())
    assert done.replaced.startswith("genai-prices ")  # the bundled snapshot, named with its version
    assert mixtral_rate() == Decimal("0.6")
    assert [path.name for path in target.parent.iterdir()] == ["genai-prices.json"]  # no temporary file left


def test_the_same_file_again_is_left_unchanged(target, site):
    _, url = site
    refresh(target, f"{url}/data.json")
    again = refresh(target, f"{url}/data.json")

    assert again.unchanged
    assert again.replaced.startswith(f"genai-prices data file {target} ")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (GOOD[: len(GOOD) // 2], r"/data.json, line 1, column \d+: not valid JSON: "),
        (b'{"providers": []}', "/data.json: not genai-prices data: expected a list of providers, got an object"),
        (b"[]", "/data.json: holds no model prices"),
        (b"\xff\xfe[]", "/data.json, byte 1: not UTF-8 text"),
        (
            encoded(with_price(bundled_raw(), *TOGETHER_MIXTRAL, input_mtok="cheap")),  # type: ignore[arg-type]
            "/data.json: not genai-prices data: provider 'together', model 'mistralai/Mixtral-8x7B-Instruct-v0.1': ",
        ),
        (_without("anthropic"), "/data.json: has no prices for anthropic, which the bundled snapshot has"),
        (_older(), "/data.json: older than the data in place: its newest dated price is from 2025-"),
        (404, "/data.json: the server answered 404 Not Found"),
    ],
    ids=["corrupt", "not-a-list", "empty", "not-utf8", "bad-price", "missing-provider", "older", "not-found"],
)
def test_a_file_that_fails_a_check_is_refused_and_the_data_in_place_is_kept(target, site, body, message):
    files, url = site
    refresh(target, f"{url}/data.json")  # the good file is in place
    files["/data.json"] = body

    with pytest.raises(RefreshError, match=message) as refused:
        refresh(target, f"{url}/data.json")

    assert str(refused.value).startswith(url)  # names where the file came from
    assert "kept the data in place" in str(refused.value)
    assert target.read_bytes() == GOOD
    assert [path.name for path in target.parent.iterdir()] == ["genai-prices.json"]
    assert mixtral_rate() == Decimal("0.6")


def test_a_refused_first_refresh_leaves_the_bundled_snapshot_pricing(target, site):
    files, url = site
    files["/data.json"] = GOOD[:100]

    with pytest.raises(RefreshError):
        refresh(target, f"{url}/data.json")

    assert not target.exists()
    assert mixtral_rate() == Decimal("0.9")


def test_force_takes_an_older_file(target, site):
    files, url = site
    files["/data.json"] = _older()

    with pytest.raises(RefreshError, match="--force takes it anyway"):
        refresh(target, f"{url}/data.json")
    done = refresh(target, f"{url}/data.json", force=True)

    assert done.dated_to is not None and str(done.dated_to) <= "2025-12-31"
    assert mixtral_rate() == Decimal("0.6")


def test_an_unreachable_or_unsupported_url_is_refused_naming_it(target):
    with pytest.raises(RefreshError, match=r"^ftp://example.invalid/data.json: not an https, http or file URL"):
        refresh(target, "ftp://example.invalid/data.json")
    with publishing({}) as url:
        pass  # the port is free again: nothing listens there
    with pytest.raises(RefreshError, match=rf"^{url}/data.json: cannot be downloaded: "):
        refresh(target, f"{url}/data.json", timeout=5)
    assert not target.exists()
