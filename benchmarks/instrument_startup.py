# SPDX-License-Identifier: Apache-2.0
"""Start-up cost of `opentelemetry-instrument python -c pass` with llmledger on and off, and with the official
and the OpenLLMetry instrumentors, side by side in one run.

    python benchmarks/instrument_startup.py [--rounds N] [--revision REV …]

Three environments, each made once under `.cache/bench-startup/` from the pins of `requirements/bench.lock` and
kept for later runs (llmledger's wheel is rebuilt from this checkout each run); each holds opentelemetry-distro
and the three SDKs (openai, anthropic, google-genai) plus:

- `llmledger`: llmledger, as a user installs it (a wheel, not the editable install of the tests);
- `official`: the OpenTelemetry GenAI instrumentors (opentelemetry-instrumentation-genai-openai, -genai-anthropic,
  -google-genai);
- `openllmetry`: OpenLLMetry's (opentelemetry-instrumentation-openai, -anthropic, -google-generativeai).

The official and OpenLLMetry packages register entry points under the same names (`openai`, `anthropic`), so
they cannot be told apart in one environment. In each environment the distro alone is
`OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=*` (no instrumentor loads), so every configuration is compared with the
distro in the same environment. Exporters are `none`: they cost the same everywhere.

`--revision REV` adds an environment `llmledger@REV` like `llmledger` but with the wheel of that git revision
(same pins, same SDKs), so that a change is measured against the commit before it in the same rounds.

Two apps: `pass` (imports no SDK: the target is ≤ 50 ms over the distro alone) and one that imports all three
SDKs (what an instrumentor adds once the SDKs are there). A round runs every (environment, configuration, app)
once, in shuffled order; the figures are medians over rounds of wall time, with the interquartile range.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements" / "bench.lock"
HOME = ROOT / ".cache" / "bench-startup"
SDKS = ("openai", "anthropic", "google-genai")
ENVIRONMENTS = {
    "llmledger": (),  # plus the wheel
    "official": (
        "opentelemetry-instrumentation-genai-openai",
        "opentelemetry-instrumentation-genai-anthropic",
        "opentelemetry-instrumentation-google-genai",
    ),
    "openllmetry": (
        "opentelemetry-instrumentation-openai",
        "opentelemetry-instrumentation-anthropic",
        "opentelemetry-instrumentation-google-generativeai",
    ),
}
APPS = {"pass": "pass", "imports the 3 SDKs": "import openai, anthropic\nfrom google import genai"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument(
        "--revision", action="append", default=[], metavar="REV", help="also llmledger as of this git revision"
    )
    options = parser.parse_args()

    pythons = {name: _environment(name, extra) for name, extra in ENVIRONMENTS.items()}
    _install_llmledger(pythons["llmledger"], ROOT)
    for revision in options.revision:
        name = f"llmledger@{revision}"
        pythons[name] = _environment(name, ())
        with tempfile.TemporaryDirectory() as folder:
            archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision], check=True, capture_output=True)
            subprocess.run(["tar", "-x", "-C", folder], input=archive.stdout, check=True)
            _install_llmledger(pythons[name], Path(folder))
    runs = [(env, on, app) for env in pythons for on in (False, True) for app in APPS]
    times: dict[tuple[str, bool, str], list[float]] = {run: [] for run in runs}
    for _ in range(options.rounds):
        random.shuffle(runs)
        for env, on, app in runs:
            times[(env, on, app)].append(_time(pythons[env], on, APPS[app]))

    print(f"opentelemetry-instrument python -c APP, wall ms, median [IQR] of {options.rounds} rounds\n")
    print(f"{'app':<20} {'environment':<18} {'distro alone':>18} {'instrumentors on':>18} {'added':>8} {'ratio':>7}")
    added: dict[tuple[str, str], float] = {}
    for app in APPS:
        for env in pythons:
            off, on = times[(env, False, app)], times[(env, True, app)]
            added[(app, env)] = statistics.median(on) - statistics.median(off)
            print(f"{app:<20} {env:<18} {_figure(off):>18} {_figure(on):>18} {added[(app, env)]:>8.1f}", end="")
            base = added[(app, "llmledger")]
            if env == "llmledger":
                print()
            else:
                print(f" {added[(app, env)] / base:>6.2f}x" if base > 1 else "      -  (llmledger adds < 1 ms)")
    print("\nratio: what the peer adds over the distro, over what llmledger adds (above 1: llmledger is lighter)")
    ours = added[("pass", "llmledger")]
    verdict = "met" if ours <= 50 else "NOT met"
    print(f"target: llmledger adds <= 50 ms to an app that imports no SDK: {ours:.1f} ms, {verdict}")


def _time(python: Path, on: bool, app: str) -> float:
    env = {
        **os.environ,
        "OTEL_TRACES_EXPORTER": "none",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
        "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "" if on else "*",
    }
    start = time.perf_counter()
    subprocess.run(
        [str(python.parent / "opentelemetry-instrument"), str(python), "-c", app],
        env=env,
        cwd=HOME,
        check=True,
        capture_output=True,
    )
    return (time.perf_counter() - start) * 1000


def _figure(samples: list[float]) -> str:
    q1, median, q3 = statistics.quantiles(samples, n=4) if len(samples) > 1 else (samples[0],) * 3
    return f"{median:.0f} [{q1:.0f}-{q3:.0f}]"


def _environment(name: str, extra: tuple[str, ...]) -> Path:
    """An environment with the distro, the three SDKs and `extra`, at the lock's versions; made once."""
    home = HOME / name
    python, pins = home / "bin" / "python", home / "pins.txt"
    wanted = "\n".join(re.findall(r"^([A-Za-z0-9_.\-]+==[^\s\\]+)", LOCK.read_text(), re.MULTILINE)) + "\n"
    if python.exists() and pins.exists() and pins.read_text() == wanted:
        return python
    print(f"making the {name} environment in {home} (first run: a minute or two)", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(home)], check=True)
    pins.write_text(wanted)
    _pip(python, "install", "-c", str(pins), "opentelemetry-distro", *SDKS, *extra)
    return python


def _install_llmledger(python: Path, source: Path) -> None:
    """llmledger's wheel, built from the tree at `source`, installed into the environment of `python`."""
    with tempfile.TemporaryDirectory() as folder:
        _pip(Path(sys.executable), "wheel", "--no-deps", "--wheel-dir", folder, str(source))
        (wheel,) = Path(folder).glob("llmledger-*.whl")
        _pip(python, "install", "-c", str(python.parents[1] / "pins.txt"), "--force-reinstall", str(wheel))


def _pip(python: Path, *args: str) -> None:
    subprocess.run([str(python), "-m", "pip", "--disable-pip-version-check", "--quiet", *args], check=True)


if __name__ == "__main__":
    main()
