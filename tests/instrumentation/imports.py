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
