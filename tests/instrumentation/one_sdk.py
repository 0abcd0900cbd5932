# SPDX-License-Identifier: Apache-2.0
"""Virtual environments holding llmledger, the OpenTelemetry distro and exactly one LLM SDK, as most apps have.

The test environment has every SDK installed, which hides what happens to an app with only one of them. Each
environment here is made with pip from the package index, at the versions of the committed lock
(`requirements/test.lock`, its pins without hashes, since llmledger itself is a local wheel), and kept under
`.cache/one-sdk/` for the next run while the lock and `pyproject.toml` stay the same; llmledger's wheel is
built from this checkout and reinstalled at every session.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements" / "test.lock"
SDKS = ("openai", "anthropic", "google-genai", "cohere", "ollama", "mistralai", "boto3")


def build_wheel(into: Path) -> Path:
    """llmledger's wheel, built from this checkout."""
    _pip(sys.executable, "wheel", "--no-deps", "--wheel-dir", str(into), str(ROOT))
    (wheel,) = into.glob("llmledger-*.whl")
    return wheel


def environment_with_only(sdk: str, wheel: Path) -> Path:
    """The Python of an environment holding `sdk`, llmledger (from `wheel`) and opentelemetry-distro, nothing else."""
    pins = "\n".join(re.findall(r"^([A-Za-z0-9_.\-]+==[^\s\\]+)", LOCK.read_text(), re.MULTILINE)) + "\n"
    key = hashlib.sha256((pins + (ROOT / "pyproject.toml").read_text() + sys.version).encode()).hexdigest()[:16]
    home = ROOT / ".cache" / "one-sdk" / sdk
    python, stamp = home / "bin" / "python", home / "llmledger-stamp"
    if not (python.exists() and stamp.exists() and stamp.read_text() == key):
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(home)], check=True)
        (home / "pins.txt").write_text(pins)
        _pip(python, "install", "-c", str(home / "pins.txt"), sdk, "opentelemetry-distro", str(wheel))
        stamp.write_text(key)
    else:
        _pip(python, "install", "--no-deps", "--force-reinstall", str(wheel))
    return python


def _pip(python: str | Path, *args: str) -> None:
    done = subprocess.run(
        [str(python), "-m", "pip", "--disable-pip-version-check", "--quiet", *args], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"pip {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
