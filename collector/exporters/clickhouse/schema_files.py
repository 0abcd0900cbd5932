# SPDX-License-Identifier: Apache-2.0
"""Where the data files of `llmledger.schemas` (migrations, named queries) are on disk.

Not `importlib.resources.files()`: in an editable install `llmledger.schemas` may be a namespace package whose
path also holds the editable finder's placeholder entry, which `files()` rejects.
"""

from __future__ import annotations

from pathlib import Path


def schema_folder(name: str) -> Path:
    """The folder `name` (e.g. "migrations") inside the installed `llmledger.schemas` package."""
    import llmledger.schemas as package

    for base in package.__path__:
        candidate = Path(base) / name
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"llmledger.schemas has no folder {name!r}; is the package installed completely?")
