# SPDX-License-Identifier: Apache-2.0
"""What importing a module drags in, seen from a fresh interpreter (this one has everything loaded already)."""

from __future__ import annotations

import json
import subprocess
import sys


def loaded_by(module: str, *candidates: str) -> list[str]:
    """Which of `candidates` are in `sys.modules` after a fresh interpreter runs `import module`."""
    code = f"import json, sys, {module}; print(json.dumps(sorted(m for m in {candidates!r} if m in sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def patched_on_import(instrumentor: str, sdk: str, method: str, heavy: tuple[str, ...]) -> dict[str, object]:
    """In a fresh interpreter: instrument with `instrumentor` (`module:Class`), note which of `heavy` are loaded,
    then import `sdk` as an app would and say whether `method` (`module:Class.name`) is wrapped now."""
    module, cls = instrumentor.split(":")
    owner, name = method.split(":")
    owner_class, attribute = name.split(".")
    code = (
        f"import json, sys\nfrom {module} import {cls}\n{cls}().instrument()\n"
        f"before = sorted(m for m in {heavy!r} if m in sys.modules)\n"
        f"import {sdk}\nfrom {owner} import {owner_class}\n"
        f"wrapped = type({owner_class}.__dict__[{attribute!r}]).__name__\n"
        "print(json.dumps({'before': before, 'wrapped': wrapped}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.splitlines()[-1])  # type: ignore[no-any-return]
