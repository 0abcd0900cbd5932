# SPDX-License-Identifier: Apache-2.0
"""The collector started with `--data-dir` keeps everything of its own there: its database, its queue, and the
refreshed genai-prices data file (`llmledger prices refresh --data-dir`) it prices calls with, even when the
environment names another data directory."""

from __future__ import annotations

import os
import urllib.request
from decimal import Decimal

import clickhouse_connect

from llmledger.collector.exporters.clickhouse.embedded import running_url
from tests.collector.extract.test_refreshed_prices import _request
from tests.collector.running import start_collector, wait_for
from tests.core.price_files import TOGETHER_MIXTRAL, bundled_raw, encoded, with_price


def test_a_collector_given_its_data_directory_prices_with_the_data_file_found_there(tmp_path):
    data_dir = tmp_path / "collector-data"
    (data_dir / "prices").mkdir(parents=True)
    fixed = with_price(bundled_raw(), *TOGETHER_MIXTRAL, input_mtok=0.6, output_mtok=0.6)
    (data_dir / "prices" / "genai-prices.json").write_bytes(encoded(fixed))
    env = {key: value for key, value in os.environ.items() if key != "LLMLEDGER_PRICES_DATA"}
    env["LLMLEDGER_DATA_DIR"] = str(tmp_path / "the-environments")  # holds no data file: the snapshot's $0.90

    collector = start_collector(["--data-dir", str(data_dir)], env=env)
    try:
        request = urllib.request.Request(
            collector.http_url, data=_request(), headers={"Content-Type": "application/x-protobuf"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
        url = running_url(data_dir)
        assert url is not None, collector.text
        client = clickhouse_connect.get_client(dsn=url)
        costs = wait_for(
            lambda: client.query("SELECT TotalCost FROM llmledger.llm_calls").result_rows, [(Decimal("0.0000318"),)]
        )
    finally:
        collector.stop()

    assert costs == [(Decimal("0.0000318"),)]  # 53 tokens × $0.60 per million, the data file's Together price
