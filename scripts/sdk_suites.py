# SPDX-License-Identifier: Apache-2.0
"""Runs SDKs' own test suites without and with llmledger active, and says which tests differ and whether the docs
justify each.

Usage (from `bash scripts/sdk-suites`): `SUITE …` among anthropic (the SDK's tracing tests), openai (its client and
streaming tests) and google-genai (its client tests); all three when none is given. `--quick` runs only the tests
that a suite marks quick (Anthropic's trace-context propagation, tracing-option and tool-runner tests), as the test
suite does (tests/test_sdk_suites.py).

For each suite: the SDK's source distribution of the version requirements/test.lock pins is downloaded (pip
download, into build/sdk-suites/), an environment is made from requirements/test.lock plus the test-only packages the
suite imports, at the versions the SDK's own lock pins, and llmledger (editable); then the suite's tests run twice,
without llmledger and with it (`-p sdk_suites_plugin`, which instruments before any test runs), and their outcomes
are compared test by test. A test that passes one way and not the other must be listed, with the reason it must
differ, in the table of docs/instrumentation.md ("What still differs"); the script fails on a difference the table
does not list, and on a listed test of a suite it ran that no longer differs. Tests that fail both ways (an
environment unlike the SDK's own CI) are printed, not compared.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tarfile
import tomllib
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from filecmp import dircmp
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "build" / "sdk-suites"
LOCK = ROOT / "requirements" / "test.lock"
DOCS = ROOT / "docs" / "instrumentation.md"
DIFFERENCES_HEADING = "### What still differs"


@dataclass(frozen=True)
class Suite:
    """An SDK's own tests to run: where they are in its source distribution and what they need besides the SDK."""

    name: str  # the distribution
    tests: tuple[str, ...]  # paths in the source distribution, or (`packaged`) modules of the installed package
    imports: tuple[str, ...] = ()  # test-only distributions the tests import, pinned by the SDK's own lock
    pytest_args: tuple[str, ...] = ()
    quick: str | None = None  # a `-k` expression for `--quick`; a suite without one is left out of a quick run
    # The package the tests ship inside (google-genai's are `google.genai.tests`, importing it relatively): the
    # installed copy runs, after checking that it is the source distribution's.
    packaged: str | None = None


SUITES = {
    suite.name: suite
    for suite in (
        Suite(
            "anthropic",
            ("tests/test_open_telemetry.py", "tests/lib/tools/test_open_telemetry.py"),
            ("respx", "inline-snapshot", "http-snapshot", "dirty-equals", "time-machine"),
            ("-p", "tests._alias_httpx"),  # respx mocks httpx; the SDK's tests alias it to httpx2 this way
            quick="TestPropagationOption or TestTracesOption or TestToolRunnerSpans",
        ),
        Suite("openai", ("tests/test_client.py", "tests/test_streaming.py"), ("rich",)),
        Suite("google-genai", ("google.genai.tests.client",), packaged="google.genai"),
    )
}


@dataclass(frozen=True)
class Outcome:
    """What comparing one suite's two runs gave."""

    suite: str
    version: str
    tests: int
    same: int
    differ: dict[str, tuple[str, str]]  # test id → (outcome without, outcome with)
    failing_both: list[str]
    calls_measured: int
    undocumented: list[str]
    stale: list[str]


def pins(text: str) -> dict[str, str]:
    """name → version of every `name==version` line of a requirements file, names normalised."""
    found = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", text, re.MULTILINE)
    return {normalise(name): version for name, version in found}


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def sdk_lock_pins(source: Path) -> dict[str, str]:
    """The versions the SDK's own development lock pins (`requirements-dev.lock` or `uv.lock`), if it ships one."""
    if (source / "requirements-dev.lock").exists():
        return pins((source / "requirements-dev.lock").read_text())
    if (source / "uv.lock").exists():
        packages = tomllib.loads((source / "uv.lock").read_text()).get("package", [])
        return {normalise(p["name"]): p["version"] for p in packages if "version" in p}
    return {}


def source_of(suite: Suite, version: str, place: Path) -> Path:
    """The SDK's source distribution, downloaded once and unpacked under `place`.

    `--no-binary` names the SDK alone: its build requirements (needed to read its metadata) may come as wheels.
    """
    archives = sorted(place.glob("*.tar.gz"))
    if not archives:
        place.mkdir(parents=True, exist_ok=True)
        download = ["download", "--quiet", "--no-deps", "--no-binary", suite.name, f"{suite.name}=={version}"]
        subprocess.run([sys.executable, "-m", "pip", *download, "-d", str(place)], check=True)
        archives = sorted(place.glob("*.tar.gz"))
    (archive,) = archives
    source = place / "source"
    if not source.exists():
        with tarfile.open(archive) as tar:
            tar.extractall(place / "unpacked", filter="data")
        (top,) = (place / "unpacked").iterdir()
        top.rename(source)
    return source


def environment(suite: Suite, source: Path, place: Path) -> Path:
    """A virtual environment at `place`: requirements/test.lock, the suite's test-only imports at the versions the
    SDK's lock pins (held to test.lock where it pins them too), and llmledger, editable."""
    uv = ["bash", str(ROOT / "scripts" / "uv")]
    python = place / "venv" / "bin" / "python"
    if not python.exists():
        subprocess.run([*uv, "venv", "--quiet", "--python", sys.executable, str(place / "venv")], check=True)
    subprocess.run([*uv, "pip", "sync", "--quiet", "--python", str(python), str(LOCK)], check=True)
    sdk_pins = sdk_lock_pins(source)
    wanted = [f"{name}=={sdk_pins[normalise(name)]}" if normalise(name) in sdk_pins else name for name in suite.imports]
    if wanted:
        install = ["pip", "install", "--quiet", "--python", str(python), "-c", str(LOCK)]
        if subprocess.run([*uv, *install, *wanted], check=False).returncode != 0:
            print(f"== {suite.name}: the SDK's pins of {', '.join(wanted)} do not resolve here; installing the newest")
            subprocess.run([*uv, *install, *suite.imports], check=True)
    editable = ["pip", "install", "--quiet", "--python", str(python), "--no-deps", "--no-build-isolation", "-e", "."]
    subprocess.run([*uv, *editable], cwd=ROOT, check=True)
    return python


def installed_tests(python: Path, suite: Suite, source: Path) -> None:
    """For a suite shipped inside its package: the installed tests must be the source distribution's."""
    assert suite.packaged is not None
    code = f"import pathlib, {suite.packaged} as package; print(pathlib.Path(package.__file__).parent)"
    package = Path(subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True).stdout.strip())
    tests = suite.packaged.replace(".", "/") + "/tests"
    differ = _differing(dircmp(source / tests, package / "tests", ignore=["__pycache__"]))
    if differ:
        raise SystemExit(f"{suite.name}: the installed {tests} is not the source distribution's: {differ}")


def _differing(comparison: dircmp[str]) -> list[str]:
    found = [*comparison.left_only, *comparison.right_only, *comparison.diff_files]
    for sub in comparison.subdirs.values():
        found += _differing(sub)
    return found


def run(python: Path, suite: Suite, source: Path, place: Path, with_llmledger: bool, quick: bool) -> Path:
    """One run of the suite's tests; its JUnit report."""
    mode = "with" if with_llmledger else "without"
    report, log = place / f"{mode}.xml", place / f"{mode}.log"
    arguments = ["-q", "-p", "no:cacheprovider", "-o", "addopts=", *suite.pytest_args, f"--junitxml={report}"]
    if quick and suite.quick:
        arguments += ["-k", suite.quick]
    if suite.packaged:  # the source distribution's pytest configuration, not the one of the folder it runs in
        arguments += ["--pyargs", "-c", str(source / "pyproject.toml"), "--rootdir", str(source)]
    if with_llmledger:
        arguments += ["-p", "sdk_suites_plugin"]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "scripts"), "LLMLEDGER_SDK_SUITE_REPORT": str(place / "with.json")}
    cwd = place if suite.packaged else source  # a packaged suite runs from outside the source, on the installed copy
    print(f"== {suite.name}: {len(suite.tests)} test file(s) {mode} llmledger (log: {log.relative_to(ROOT)})")
    with log.open("w") as out:
        subprocess.run(
            ["nice", str(python), "-m", "pytest", *suite.tests, *arguments],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if not report.exists():
        raise SystemExit(f"{suite.name}: the run {mode} llmledger wrote no report; see {log}")
    return report


def outcomes(report: Path) -> dict[str, str]:
    """Test id (`path.py::Class::test[params]`) → passed, failed or skipped, from a JUnit report."""
    found = {}
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            outcome = "failed"
        elif case.find("skipped") is not None:
            outcome = "skipped"
        else:
            outcome = "passed"
        test = f"{test_path(case.get('classname', ''))}::{case.get('name', '')}"
        # A test that passed and then errored in its teardown has two entries: the worse one counts.
        if found.get(test) != "failed":
            found[test] = outcome
    return found


def test_path(classname: str) -> str:
    """A JUnit class name as pytest names it: `tests.lib.test_x.TestY` → `tests/lib/test_x.py::TestY`; tests run
    from an installed package are named from the package on (`google/genai/tests/…`)."""
    parts = classname.split(".")
    if "site-packages" in parts:
        parts = parts[parts.index("site-packages") + 1 :]
    module = next((i for i, part in enumerate(parts) if part[:1].isupper()), len(parts))
    path = "/".join(parts[:module]) + ".py"
    return "::".join([path, *parts[module:]])


def documented() -> set[str]:
    """The tests the table under "What still differs" in docs/instrumentation.md lists (its first column)."""
    text = DOCS.read_text()
    start = text.find(DIFFERENCES_HEADING)
    if start < 0:
        raise SystemExit(f"{DOCS.relative_to(ROOT)} has no {DIFFERENCES_HEADING!r} section")
    section = text[start + len(DIFFERENCES_HEADING) :].split("\n#", 1)[0]
    return set(re.findall(r"^\| `([^`]+)` \|", section, re.MULTILINE))


def listed(test: str, entries: set[str], suite: str) -> str | None:
    """The entry of the table that covers `test` of `suite`: `suite: id`, the id with or without its parameters."""
    for entry in entries:
        name, _, test_id = entry.partition(": ")
        if name == suite and (test == test_id or test.startswith(test_id + "[")):
            return entry
    return None


def compare(suite: Suite, version: str, without: dict[str, str], with_: dict[str, str], place: Path) -> Outcome:
    tests = sorted(without.keys() | with_.keys())
    differ = {t: (without.get(t, "absent"), with_.get(t, "absent")) for t in tests if without.get(t) != with_.get(t)}
    failing_both = [t for t in tests if without.get(t) == with_.get(t) == "failed"]
    entries = documented()
    undocumented = [t for t in differ if listed(t, entries, suite.name) is None]
    used = {listed(t, entries, suite.name) for t in differ}
    ran = {t for t in tests if without.get(t) != "skipped" or with_.get(t) != "skipped"}
    stale = sorted(
        entry
        for entry in entries
        if entry.partition(": ")[0] == suite.name
        and entry not in used
        and any(listed(t, {entry}, suite.name) for t in ran)
    )
    report = place / "with.json"
    calls = json.loads(report.read_text())["calls_measured"] if report.exists() else 0
    return Outcome(
        suite.name, version, len(tests), len(tests) - len(differ), differ, failing_both, calls, undocumented, stale
    )


def test_suite(suite: Suite, quick: bool) -> Outcome:
    version = pins(LOCK.read_text())[normalise(suite.name)]
    place = WORK / f"{suite.name}-{version}"
    print(f"== {suite.name} {version}: source distribution and environment in {place.relative_to(ROOT)}")
    source = source_of(suite, version, place)
    python = environment(suite, source, place)
    if suite.packaged:
        installed_tests(python, suite, source)
    (place / "with.json").unlink(missing_ok=True)
    without = outcomes(run(python, suite, source, place, False, quick))
    with_ = outcomes(run(python, suite, source, place, True, quick))
    return compare(suite, version, without, with_, place)


def summary(results: list[Outcome]) -> str:
    lines = [
        "| suite | version | tests | same both ways | differ | fail both ways | calls llmledger measured |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.suite} | {r.version} | {r.tests} | {r.same} | {len(r.differ)} | {len(r.failing_both)} "
            f"| {r.calls_measured} |"
        )
    for r in results:
        for test, (without, with_) in sorted(r.differ.items()):
            mark = "UNDOCUMENTED " if test in r.undocumented else ""
            lines.append(f"{mark}differs: {r.suite}: {test} ({without} without llmledger, {with_} with it)")
        for test in r.failing_both:
            lines.append(f"fails both ways: {r.suite}: {test}")
        for entry in r.stale:
            lines.append(f"STALE: {entry} is listed in {DOCS.relative_to(ROOT)} but no longer differs")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("suites", nargs="*", metavar="SUITE", help=", ".join(SUITES) + " (default: all)")
    parser.add_argument("--quick", action="store_true", help="only the tests a suite marks quick")
    arguments = parser.parse_args()
    unknown = [name for name in arguments.suites if name not in SUITES]
    if unknown:
        parser.error(f"no suite {', '.join(unknown)}: choose among {', '.join(SUITES)}")
    chosen = [SUITES[name] for name in arguments.suites or SUITES]
    if arguments.quick:
        chosen = [suite for suite in chosen if suite.quick]
    results = [test_suite(suite, arguments.quick) for suite in chosen]
    print()
    print(summary(results))
    if any(r.undocumented or r.stale for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
