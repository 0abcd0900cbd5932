# SPDX-License-Identifier: Apache-2.0
"""The storage half of the collector: the embedded ClickHouse server, clients, migrations and the writer."""
