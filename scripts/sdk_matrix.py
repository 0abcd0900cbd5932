# SPDX-License-Identifier: Apache-2.0
"""Runs each SDK's instrumentation tests against other releases of that SDK and prints what passed.

Usage (from `bash scripts/sdk-matrix`): no argument runs, for each SDK of `SDKS`, the oldest
release inside the range its instrumentor supports (`instrumentation/<sdk>/package.py`) and the newest release
the index serves; `SDK==VERSION` arguments (e.g. `openai==1.60.0 openai==2.0.0`) run just those, and
`SDK==VERSION,REQUIREMENT…` also holds other packages to what that release needs beside it (e.g.
`openai==1.40.0,httpx<0.28`: releases before 1.55.3 pass an argument httpx 0.28 removed).

Each run gets its own virtual environment under build/sdk-matrix/, resolved from requirements/test.lock with
only that SDK's version overridden: every other pin is kept unless the SDK release needs otherwise, and the
matrix names what else moved. The tests run there one release at a time (the environments hold the whole test
set, so building one the first time takes a minute or two; uv links files from its cache after that).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "build" / "sdk-matrix"
LOCK = ROOT / "requirements" / "test.lock"


@dataclass(frozen=True)
class Sdk:
    """An SDK as the matrix knows it: its distribution name and the folder of its instrumentor and tests."""

    name: str
    folder: str

    def supported(self) -> Requirement:
        """The range the instrumentor declares in `instrumentation/<folder>/package.py`."""
        source = (ROOT / "instrumentation" / self.folder / "package.py").read_text()
        match = re.search(r"_instruments\s*=\s*\(\s*\"([^\"]+)\"", source)
        if match is None:
            raise SystemExit(f"no _instruments range found in instrumentation/{self.folder}/package.py")
        return Requirement(match.group(1))


SDKS = {
    sdk.name: sdk
    for sdk in (
        Sdk("openai", "openai"),
        Sdk("anthropic", "anthropic"),
        Sdk("google-genai", "google_genai"),
        Sdk("cohere", "cohere"),
        Sdk("ollama", "ollama"),
        Sdk("mistralai", "mistral"),
    )
}


@dataclass(frozen=True)
class Run:
    """One release of an SDK to test, with any other requirements that release needs beside it."""

    sdk: Sdk
    version: str
    beside: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """e.g. `openai 1.40.0 (httpx<0.28)`."""
        return f"{self.sdk.name} {self.version}" + (f" ({', '.join(self.beside)})" if self.beside else "")

    @property
    def folder(self) -> Path:
        slug = re.sub(r"[^A-Za-z0-9.]+", "_", "-".join(self.beside))
        return WORK / (f"{self.sdk.name}-{self.version}" + (f"-{slug}" if slug else ""))


@dataclass(frozen=True)
class Outcome:
    """What one run of an SDK release's tests gave."""

    sdk: str
    version: str
    in_range: bool
    passed: int
    failed: int
    skipped: int
    moved: str
    log: Path


def served_versions(name: str) -> list[Version]:
    """Every release of `name` the package index serves (pip's `index versions`), newest first."""
    done = subprocess.run(
        [sys.executable, "-m", "pip", "index", "versions", name, "--disable-pip-version-check"],
        capture_output=True,
        text=True,
        check=True,
    )
    match = re.search(r"^Available versions: (.+)$", done.stdout, re.MULTILINE)
    if match is None:
        raise SystemExit(f"pip index versions {name} listed no versions:\n{done.stdout}{done.stderr}")
    return sorted((Version(v) for v in match.group(1).split(", ")), reverse=True)


def default_runs() -> list[Run]:
    """For each SDK, the oldest served release inside its supported range and the newest served release."""
    runs = []
    for sdk in SDKS.values():
        served = [v for v in served_versions(sdk.name) if not v.is_prerelease]
        inside = [v for v in served if sdk.supported().specifier.contains(v)]
        if not inside:
            raise SystemExit(f"the index serves no {sdk.name} release inside {sdk.supported()}")
        runs += [Run(sdk, str(min(inside))), Run(sdk, str(served[0]))]
    return runs


def pins(lock: Path) -> dict[str, str]:
    """name → version of every `name==version` line of a requirements file."""
    found = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", lock.read_text(), re.MULTILINE)
    return {re.sub(r"[-_.]+", "-", name).lower(): version for name, version in found}


def moved_pins(before: dict[str, str], after: dict[str, str], sdk: str) -> str:
    """The pins other than the SDK's own that differ between two locks, e.g. `httpx 0.29.0→0.28.1, +tqdm`."""
    changes = []
    for name in sorted(before.keys() | after.keys()):
        if name == sdk or before.get(name) == after.get(name):
            continue
        if name not in before:
            changes.append(f"+{name}")
        elif name not in after:
            changes.append(f"-{name}")
        else:
            changes.append(f"{name} {before[name]}→{after[name]}")
    return ", ".join(changes) or "-"


def build_environment(run: Run, place: Path) -> Path:
    """A virtual environment at `place` holding the test lock with the SDK release of `run` (and what it needs
    beside it), and llmledger editable (built without isolation by the locked setuptools, which the environment
    holds as the test lock's build requirement)."""
    place.mkdir(parents=True, exist_ok=True)
    lock = place / "requirements.txt"
    lock.write_text(LOCK.read_text())  # uv keeps the pins of the file it writes over where it can
    override = place / "override.txt"
    override.write_text("\n".join([f"{run.sdk.name}=={run.version}", *run.beside]) + "\n")
    build_requires = "\n".join(tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"])
    uv = ["bash", str(ROOT / "scripts" / "uv")]
    compile_lock = ["pip", "compile", "--quiet", "--universal", "--python-version", "3.11", "-o", str(lock)]
    test_set = ["pyproject.toml", "-", "--extra", "collector", "--extra", "test"]
    subprocess.run(
        [*uv, *compile_lock, *test_set, "--override", str(override)],
        input=build_requires,
        text=True,
        cwd=ROOT,
        check=True,
    )
    python = place / "venv" / "bin" / "python"
    if not python.exists():
        subprocess.run([*uv, "venv", "--quiet", "--python", sys.executable, str(place / "venv")], cwd=ROOT, check=True)
    subprocess.run([*uv, "pip", "sync", "--quiet", "--python", str(python), str(lock)], cwd=ROOT, check=True)
    subprocess.run(
        [*uv, "pip", "install", "--quiet", "--python", str(python), "--no-deps", "--no-build-isolation", "-e", "."],
        cwd=ROOT,
        check=True,
    )
    return python


def test(run: Run) -> Outcome:
    """Builds the environment for one SDK release and runs that SDK's instrumentation tests in it."""
    sdk, place = run.sdk, run.folder
    print(f"== {run.name}: building {place.relative_to(ROOT)}", flush=True)
    python = build_environment(run, place)
    report, log = place / "junit.xml", place / "pytest.log"
    tests = f"tests/instrumentation/{sdk.folder}"
    print(f"== {run.name}: running {tests} (log: {log.relative_to(ROOT)})", flush=True)
    with log.open("w") as out:
        subprocess.run(
            ["nice", str(python), "-m", "pytest", tests, "-q", "-p", "no:cacheprovider", f"--junitxml={report}"],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    suite = ElementTree.parse(report).getroot()
    suite = suite if suite.tag == "testsuite" else suite[0]
    total, failed, errors, skipped = (int(suite.get(key, "0")) for key in ("tests", "failures", "errors", "skipped"))
    return Outcome(
        sdk=sdk.name,
        version=run.version + (f" ({', '.join(run.beside)})" if run.beside else ""),
        in_range=sdk.supported().specifier.contains(run.version),
        passed=total - failed - errors - skipped,
        failed=failed + errors,
        skipped=skipped,
        moved=moved_pins(pins(LOCK), pins(place / "requirements.txt"), sdk.name),
        log=log,
    )


def table(outcomes: list[Outcome]) -> str:
    """The matrix as a Markdown table."""
    rows = [
        "| SDK | version | in supported range | passed | failed | skipped | other pins moved from test.lock |",
        "|---|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        rows.append(
            f"| {o.sdk} | {o.version} | {'yes' if o.in_range else 'no'} | {o.passed} | {o.failed} | {o.skipped} "
            f"| {o.moved} |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "runs", nargs="*", metavar="SDK==VERSION[,REQUIREMENT…]", help="the releases to run (default: see above)"
    )
    arguments = parser.parse_args()
    runs = []
    for spec in arguments.runs:
        release, *beside = spec.split(",")
        name, _, version = release.partition("==")
        if name not in SDKS or not version:
            raise SystemExit(f"{spec!r}: give SDK==VERSION[,REQUIREMENT…] with SDK one of {', '.join(SDKS)}")
        runs.append(Run(SDKS[name], version, tuple(beside)))
    outcomes = [test(run) for run in runs or default_runs()]
    print()
    print(table(outcomes))


if __name__ == "__main__":
    main()
