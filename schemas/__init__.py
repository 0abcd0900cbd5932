# SPDX-License-Identifier: Apache-2.0
"""ClickHouse DDL as ordered SQL migrations, named queries, and the span attribute contract (data files)."""
