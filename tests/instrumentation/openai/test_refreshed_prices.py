# SPDX-License-Identifier: Apache-2.0
"""The instrumentation prices with a refreshed genai-prices data file in the data directory, not the snapshot.

A recorded Together call (Mixtral 8x7B, 18 tokens in, 35 out) through the OpenAI SDK's real HTTP stack. The
bundled snapshot prices Mixtral at $0.90 per million tokens; Together lists $0.60, which the data file has.
"""

from __future__ import annotations

import pytest

from llmledger._core import prices
from tests.core.price_files import TOGETHER_MIXTRAL, bundled_raw, encoded, with_price
from tests.instrumentation.openai import transport

CHAT = ("together/openllmetry/together/test_chat/test_together_chat_legacy.yaml", 0)


def _call(span_exporter):
    body = transport.recorded_body(*CHAT)
    client = transport.client(lambda request: transport.http.Response(200, content=body), "https://api.together.xyz/v1")
    client.chat.completions.create(model=TOGETHER_MIXTRAL[1], messages=[{"role": "user", "content": "A joke"}])
    (span,) = span_exporter.get_finished_spans()
    return span.attributes


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("LLMLEDGER_PRICES_DATA", raising=False)
    monkeypatch.setenv("LLMLEDGER_DATA_DIR", str(tmp_path))
    prices.reload()
    return tmp_path


def test_without_a_refresh_the_bundled_snapshot_prices(data_dir, instrumented, span_exporter):
    attrs = _call(span_exporter)
    assert attrs["gen_ai.usage.cost"] == pytest.approx(0.0000477, rel=1e-12)  # 53 tokens × $0.90 = 47.7 µUSD
    assert attrs["llmledger.price.version"].startswith("genai-prices ")


def test_a_refreshed_data_file_prices_instead(data_dir, instrumented, span_exporter):
    (data_dir / "prices").mkdir()
    fixed = with_price(bundled_raw(), *TOGETHER_MIXTRAL, input_mtok=0.6, output_mtok=0.6)
    (data_dir / "prices" / "genai-prices.json").write_bytes(encoded(fixed))
    prices.reload()  # as an app started after the refresh

    attrs = _call(span_exporter)
    assert attrs["gen_ai.provider.name"] == "together"
    assert attrs["gen_ai.usage.cost"] == pytest.approx(0.0000318, rel=1e-12)  # 53 tokens × $0.60 = 31.8 µUSD
    assert attrs["llmledger.price.source"] == "genai-prices"
    assert attrs["llmledger.price.version"].startswith("genai-prices.json:")
