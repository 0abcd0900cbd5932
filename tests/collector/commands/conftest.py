# SPDX-License-Identifier: Apache-2.0
"""Running the `llmledger` console command as users do: a subprocess, with a clean environment.

* `cli(*args, connect=True)` runs `python -m llmledger.collector.cli ARGS` and returns the CompletedProcess
  (text output). With `connect`, `--clickhouse-url` and `--database` of the module's test database are added.
  LLMLEDGER_* variables are removed and the data directory points into tmp, so no test touches the user's.
* `loaded` (module) — the module's database holding `sample_calls`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

import pytest

from llmledger.collector.exporters.clickhouse.writer import insert_llm_calls


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("LLMLEDGER_")}
    env["LLMLEDGER_DATA_DIR"] = str(tmp_path_factory.mktemp("cli-data"))
    return env


@pytest.fixture(scope="module")
def cli(clickhouse, database, cli_env) -> Callable[..., subprocess.CompletedProcess[str]]:
    def run(*args: str, connect: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "llmledger.collector.cli", *args]
        if connect:
            command += ["--clickhouse-url", clickhouse.url, "--database", database]
        return subprocess.run(command, capture_output=True, text=True, env=cli_env, timeout=timeout, check=False)

    return run


@pytest.fixture(scope="module")
def loaded(client, sample_calls):
    insert_llm_calls(client, sample_calls, deduplication_token="sample")
    return sample_calls
