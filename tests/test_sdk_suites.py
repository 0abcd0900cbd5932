# SPDX-License-Identifier: Apache-2.0
"""The Anthropic SDK's own tracing tests pass with llmledger active as they pass without it, but for the differences
docs/instrumentation.md lists with their reasons: its trace-context propagation, tracing-option (the provider the app
chooses) and tool-runner tests, run from the SDK's source distribution of the locked version (`bash
scripts/sdk-suites --quick anthropic`; the whole suites, and OpenAI's and google-genai's, with `bash
scripts/sdk-suites`). The first run downloads the source distribution and makes an environment under
build/sdk-suites/; later runs reuse them.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sdk_suites", ROOT / "scripts" / "sdk_suites.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


suites = _script()


def test_the_anthropic_suites_propagation_provider_and_tool_runner_tests_do_not_differ_with_llmledger():
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "sdk_suites.py"), "--quick", "anthropic"],
        capture_output=True,
        text=True,
        timeout=1800,
    )

    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    (row,) = [line for line in done.stdout.splitlines() if line.startswith("| anthropic |")]
    _, _, _, tests, same, differ, _, calls, _ = row.split("|")
    assert int(tests) > 100 and int(same) == int(tests) and int(differ) == 0
    assert int(calls) > 100  # llmledger was active: it measured the suite's Messages calls


# --- how the script compares two runs ---------------------------------------------------------------------


def _report(tmp_path: Path, name: str, cases: str) -> Path:
    path = tmp_path / name
    path.write_text(f'<testsuites><testsuite name="pytest">{cases}</testsuite></testsuites>')
    return path


def test_a_junit_report_reads_as_pytest_test_ids_with_the_worse_of_a_call_and_its_teardown(tmp_path):
    report = _report(
        tmp_path,
        "r.xml",
        '<testcase classname="tests.lib.tools.test_x.TestY" name="test_a[sync]"/>'
        '<testcase classname="tests.lib.tools.test_x.TestY" name="test_a[sync]"><error message="teardown"/></testcase>'
        '<testcase classname="tests.test_z" name="test_b"><skipped/></testcase>'
        '<testcase classname="venv.lib.python3.site-packages.google.genai.tests.test_w" name="test_c"/>',
    )

    assert suites.outcomes(report) == {
        "tests/lib/tools/test_x.py::TestY::test_a[sync]": "failed",
        "tests/test_z.py::test_b": "skipped",
        "google/genai/tests/test_w.py::test_c": "passed",
    }


@pytest.fixture
def listed(monkeypatch, tmp_path):
    """docs/instrumentation.md holding a table of differences that lists two tests of the anthropic suite."""
    docs = tmp_path / "instrumentation.md"
    docs.write_text(
        "# Instrumentation\n\n### What still differs\n\n| test | why |\n|---|---|\n"
        "| `anthropic: t.py::test_extra_attributes` | more attributes |\n"
        "| `anthropic: t.py::test_parametrized` | every parameter |\n\n## Next\n"
    )
    monkeypatch.setattr(suites, "DOCS", docs)
    monkeypatch.setattr(suites, "WORK", tmp_path)


def test_a_difference_the_docs_list_passes_and_one_they_do_not_is_named(listed, tmp_path):
    suite = suites.SUITES["anthropic"]
    without = {"t.py::test_extra_attributes": "passed", "t.py::test_parametrized[a]": "passed", "t.py::new": "passed"}
    with_ = {"t.py::test_extra_attributes": "failed", "t.py::test_parametrized[a]": "failed", "t.py::new": "failed"}

    outcome = suites.compare(suite, "1.0", without, with_, tmp_path)

    assert outcome.undocumented == ["t.py::new"]
    assert outcome.stale == []
    assert outcome.same == 0 and len(outcome.differ) == 3


def test_a_listed_test_that_ran_and_no_longer_differs_is_stale_and_one_that_did_not_run_is_not(listed, tmp_path):
    suite = suites.SUITES["anthropic"]
    without = {"t.py::test_extra_attributes": "passed", "t.py::test_parametrized[a]": "skipped"}
    with_ = {"t.py::test_extra_attributes": "passed", "t.py::test_parametrized[a]": "skipped"}

    outcome = suites.compare(suite, "1.0", without, with_, tmp_path)

    assert outcome.stale == ["anthropic: t.py::test_extra_attributes"]
    assert outcome.undocumented == []


def test_every_difference_the_docs_list_names_a_suite_and_a_test():
    entries = suites.documented()
    assert entries
    for entry in entries:
        suite, _, test = entry.partition(": ")
        assert suite in suites.SUITES and "::" in test, entry
