# SPDX-License-Identifier: Apache-2.0
"""Each committed lock holds every requirement of the extras it is made from, at a version they allow.

`bash scripts/test` installs requirements/test.lock, then llmledger without its dependencies: a requirement added
to pyproject.toml but not locked would be missing on a fresh machine, or be there at a version the project no
longer allows, and nothing else would say so. Run `bash scripts/lock` after changing the dependencies.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LOCKS = {
    "test.lock": ("collector", "test"),
    "demo.lock": ("demo",),
    "bench.lock": ("collector", "test", "bench"),
    "frameworks.lock": ("frameworks",),
}


def required(extras: tuple[str, ...]) -> list[Requirement]:
    """What installing llmledger with `extras` asks for (self-references such as `llmledger[collector]` followed),
    with the build backend's requirements, as scripts/lock compiles them."""
    found = [Requirement(r) for r in PROJECT["build-system"]["requires"] + PROJECT["project"]["dependencies"]]
    pending, seen = list(extras), set()
    while pending:
        extra = pending.pop()
        if extra in seen:
            continue
        seen.add(extra)
        for text in PROJECT["project"]["optional-dependencies"][extra]:
            requirement = Requirement(text)
            if canonicalize_name(requirement.name) == "llmledger":
                pending += sorted(requirement.extras)
            else:
                found.append(requirement)
    return [r for r in found if r.marker is None or r.marker.evaluate()]


def pinned(lock: str) -> dict[str, Version]:
    text = (ROOT / "requirements" / lock).read_text()
    return {
        canonicalize_name(name): Version(version)
        for name, version in re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", text, re.MULTILINE)
    }


@pytest.mark.parametrize(("lock", "extras"), LOCKS.items())
def test_every_requirement_of_the_extras_is_locked_at_a_version_they_allow(lock, extras):
    pins = pinned(lock)
    unmet = []
    for requirement in required(extras):
        version = pins.get(canonicalize_name(requirement.name))
        if version is None or not requirement.specifier.contains(version, prereleases=True):
            unmet.append(f"{requirement} (locked: {version or 'nothing'})")
    assert unmet == [], f"requirements/{lock} is out of date with pyproject.toml: run bash scripts/lock"
