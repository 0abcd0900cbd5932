# SPDX-License-Identifier: Apache-2.0
"""The environment the framework apps run in: `.cache/frameworks`, a venv of requirements/frameworks.lock.

The frameworks pin SDK versions of their own (LlamaIndex's OpenAI LLM an older `openai` than the test set's), so
they get a lock and a venv apart from `.venv`. The venv is made from the hashed lock with pip and kept for the next
run while the lock, `pyproject.toml` and the Python stay the same (the first build downloads ~140 packages: a few
minutes); llmledger's wheel, built from this checkout, is reinstalled at every session, as tests/instrumentation/
one_sdk.py does for its one-SDK environments.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from functools import cache
from pathlib import Path

from tests.instrumentation.one_sdk import ROOT, build_wheel

LOCK = ROOT / "requirements" / "frameworks.lock"
HOME = ROOT / ".cache" / "frameworks"


@cache
def framework_python(wheels: Path) -> Path:
    """The Python of `.cache/frameworks`, with the frameworks and llmledger (built into `wheels`) installed."""
    key = hashlib.sha256((LOCK.read_text() + (ROOT / "pyproject.toml").read_text() + sys.version).encode()).hexdigest()
    python, stamp = HOME / "bin" / "python", HOME / "llmledger-stamp"
    if not (python.exists() and stamp.exists() and stamp.read_text() == key[:16]):
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(HOME)], check=True)
        _pip(python, "install", "--require-hashes", "--no-deps", "-r", str(LOCK))
        stamp.write_text(key[:16])
    _pip(python, "install", "--no-deps", "--force-reinstall", str(build_wheel(wheels)))
    return python


def _pip(python: Path, *args: str) -> None:
    done = subprocess.run(
        [str(python), "-m", "pip", "--disable-pip-version-check", "--quiet", *args], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"pip {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
