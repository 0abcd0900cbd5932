# SPDX-License-Identifier: Apache-2.0
"""llmledger's data directory: where the collector keeps its queue and embedded ClickHouse, and a refreshed price
data file lives. Its own module, importing only `os` and `pathlib`, so a command that only needs to find the
directory (`llmledger sql`) does not load the price data machinery (`price_data`) to do so."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

DATA_DIR_ENV = "LLMLEDGER_DATA_DIR"


def data_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """llmledger's data directory: $LLMLEDGER_DATA_DIR, else $XDG_DATA_HOME/llmledger, else ~/.local/share/…"""
    if environ.get(DATA_DIR_ENV):
        return Path(environ[DATA_DIR_ENV]).expanduser()
    base = environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base).expanduser() / "llmledger"
