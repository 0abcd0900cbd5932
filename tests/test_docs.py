# SPDX-License-Identifier: Apache-2.0
"""The documentation points at what is there: every relative link and every repository path it quotes exists,
and the README stays a short entry point whose set-up section holds exactly the two commands a fresh machine
needs."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIPPED = {".git", ".venv", "build", ".cache", ".pytest_cache", ".mypy_cache", ".ruff_cache", "node_modules"}
# The top-level folders of the repository: a quoted `folder/...` path under one of them must exist.
FOLDERS = (
    "benchmarks",
    "collector",
    "demo",
    "docs",
    "instrumentation",
    "llmledger",
    "requirements",
    "schemas",
    "scripts",
    "tests",
)

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
CODE = re.compile(r"`([^`\n]+)`")
FENCE = re.compile(r"^```.*?^```", re.DOTALL | re.MULTILINE)
REPO_PATH = re.compile(rf"(?:{'|'.join(FOLDERS)})/[\w./-]*|[\w-]+\.md")


def _markdown_files() -> list[Path]:
    """The project's own pages: recorded traffic (whose folders hold upstream files) and tool folders left out."""
    found = []
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [name for name in subfolders if name not in SKIPPED and not name.endswith(".egg-info")]
        if Path(folder).name == "cassettes":
            subfolders.clear()
        found += [Path(folder, name) for name in files if name.endswith(".md")]
    return sorted(found)


def _anchors(path: Path) -> set[str]:
    """GitHub's anchor of every heading in `path`: lower case, punctuation dropped, spaces as hyphens."""
    headings = re.findall(r"^#+ (.+)$", FENCE.sub("", path.read_text()), re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-") for heading in headings}


def _links(path: Path) -> list[str]:
    return [target for target in LINK.findall(FENCE.sub("", path.read_text())) if not re.match(r"\w+:", target)]


MARKDOWN = _markdown_files()


@pytest.mark.parametrize("path", MARKDOWN, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_relative_link_reaches_a_file_and_heading_that_exist(path: Path) -> None:
    broken = []
    for target in _links(path):
        file, _, anchor = target.partition("#")
        linked = (path.parent / file).resolve() if file else path
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
            broken.append(f"{target}: no heading #{anchor} in {linked.relative_to(ROOT)}")
    assert not broken, f"{path.relative_to(ROOT)}: {broken}"


@pytest.mark.parametrize("path", MARKDOWN, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_quoted_repository_path_exists(path: Path) -> None:
    quoted = {span.strip() for span in CODE.findall(FENCE.sub("", path.read_text()))}
    missing = [
        text
        for text in sorted(quoted)
        if REPO_PATH.fullmatch(text)
        and not (ROOT / text).exists()
        and not (text.endswith(".md") and "/" not in text and (path.parent / text).exists())
    ]
    assert not missing, f"{path.relative_to(ROOT)} quotes paths that are not in the repository: {missing}"


def test_the_readme_is_an_entry_point_under_250_lines() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) < 250, f"README.md has {len(lines)} lines: move details into docs/"


def test_the_readme_sets_up_a_fresh_machine_with_exactly_the_demo_and_the_tests() -> None:
    readme = (ROOT / "README.md").read_text()
    section = re.search(r"^## Set up on a fresh machine\n(.*?)^## ", readme, re.DOTALL | re.MULTILINE)
    assert section, "README.md has no '## Set up on a fresh machine' section"
    commands = [
        line.strip()
        for block in re.findall(r"^```bash\n(.*?)^```", section.group(1), re.DOTALL | re.MULTILINE)
        for line in block.splitlines()
        if line.strip()
    ]
    assert commands == ["bash scripts/demo", "bash scripts/test"]
    assert all((ROOT / command.split()[1]).is_file() for command in commands)
