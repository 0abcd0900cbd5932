# SPDX-License-Identifier: Apache-2.0
"""Where accepted requests leave the collector: each exporter reads the durable queue with its own cursor.

`clickhouse/` writes the call rows (and raw span rows) into ClickHouse, exactly once; `forward.py` sends every
request on, unchanged, to another OTLP receiver. Neither waits for the other.
"""
