# SPDX-License-Identifier: Apache-2.0
"""Fault-injection fixtures: a ClickHouse server the tests may stop and start, and a fresh database per test.

The session `clickhouse` of tests/collector/conftest.py is shared by every other test, so it must never go down;
these tests get their own embedded server (same product code, own data directory), which keeps its ports across
a restart so that a collector pointed at it finds it again.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from .processes import RestartableClickHouse, reap


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RestartableClickHouse]:
    handle = RestartableClickHouse(tmp_path_factory.mktemp("faults-clickhouse"))
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture
def database(server: RestartableClickHouse) -> Iterator[str]:
    """A name for this test's database; the collector under test creates it (migrations on start). Afterwards
    any collector the test left running (it failed half-way) is killed and the database dropped."""
    server.start()  # a test that failed half-way may have left it stopped
    name = f"faults_{uuid.uuid4().hex[:10]}"
    yield name
    reap()
    if server.running:
        server.query(f"DROP DATABASE IF EXISTS {name} SYNC")
