# SPDX-License-Identifier: Apache-2.0
"""Runs one benchmark script for two revisions of llmledger, taking turns, so their figures are side by side in
one run on the same machine state.

    python benchmarks/compare_revisions.py BASE [--head REV] [--rounds N] -- SCRIPT [ARGS…]

e.g. `python benchmarks/compare_revisions.py 47a54ac -- benchmarks/openai_overhead.py --quick`.

Each revision (`--head` defaults to the working tree) is built into a wheel, C extensions included, and installed
into a folder of its own with `pip install --target`; the script runs with that folder first on `PYTHONPATH`, so
it imports that revision's llmledger (and any collector it starts does too). It is that revision's copy of the
script (and of tests/ and demo/, which scripts import) that runs, with the package's source folders taken out of
the copy: a script that puts its tree's root first on `sys.path` would import them instead. The rounds alternate
(base, head, head, base, …) so that a drift in the machine's load weighs on both alike. Each run's output is
printed whole, under a header naming the revision and the round.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], usage="%(prog)s BASE [--head REV] [--rounds N] -- SCRIPT [ARGS…]"
    )
    parser.add_argument("base", help="the revision to compare with (e.g. the commit before a change)")
    parser.add_argument("--head", default=None, help="the other revision (default: the working tree)")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each revision")
    # Split at `--` by hand: argparse's REMAINDER would swallow options given after BASE, such as --head.
    argv = sys.argv[1:]
    split = argv.index("--") if "--" in argv else len(argv)
    options = parser.parse_args(argv[:split])
    command = argv[split + 1 :]
    if not command:
        parser.error("name the benchmark script after --")

    with tempfile.TemporaryDirectory(prefix="llmledger-compare-") as folder:
        trees = {
            options.base: _install(options.base, Path(folder) / "base"),
            options.head or "working tree": _install(options.head, Path(folder) / "head"),
        }
        order = list(trees)
        for round_number in range(options.rounds):
            for label in order if round_number % 2 == 0 else reversed(order):
                source, target = trees[label]
                print(f"\n===== {label}, round {round_number + 1} of {options.rounds} =====", flush=True)
                subprocess.run(
                    [sys.executable, str(source / command[0]), *command[1:]],
                    env={**os.environ, "PYTHONPATH": str(target)},
                    cwd=source,
                    check=False,
                )


def _install(revision: str | None, into: Path) -> tuple[Path, Path]:
    """The revision's source tree and a folder holding its installed llmledger."""
    source = into / "source"
    source.mkdir(parents=True)
    if revision is None:
        files = subprocess.run(
            ["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            check=True,
            capture_output=True,
        ).stdout.split(b"\0")
        archive = subprocess.run(
            # A file deleted between the listing and the archive (another process editing the tree) is skipped.
            ["tar", "-c", "--ignore-failed-read", "-C", str(ROOT), "--null", "-T", "-"],
            input=b"\0".join(f for f in files if f and (ROOT / f.decode()).is_file()),
            check=True,
            capture_output=True,
        ).stdout
    else:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(source)], input=archive, check=True)
    target = into / "installed"
    wheels = into / "wheels"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    subprocess.run([*pip, "wheel", "--no-deps", "--wheel-dir", str(wheels), str(source)], check=True)
    (wheel,) = wheels.glob("llmledger-*.whl")
    subprocess.run([*pip, "install", "--no-deps", "--target", str(target), str(wheel)], check=True)
    for package in ("llmledger", "instrumentation", "collector", "schemas"):
        # Scripts put the tree's root first on sys.path; its folders would shadow the installed package.
        shutil.rmtree(source / package, ignore_errors=True)
    return source, target


if __name__ == "__main__":
    main()
