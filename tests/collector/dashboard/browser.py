# SPDX-License-Identifier: Apache-2.0
"""Headless Chromium driven over the Chrome DevTools protocol, for the dashboard's tests.

`Chromium.start(profile_dir)` runs Debian's `chromium` (`scripts/install-browser` installs it) headless on a
fresh profile, with a DevTools port of its own choosing read back from the profile's `DevToolsActivePort`;
`new_page()` opens a tab and connects to it over a websocket (the `websockets` package). A `Page` records
what a person would see in the console: `console.error`/`console.warn`/`console.assert` calls, uncaught
exceptions and the browser's own error entries (a failed load, a refused script). `problems()` lists them.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

CHROMIUM = os.environ.get("LLMLEDGER_CHROMIUM", "/usr/bin/chromium")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--remote-debugging-port=0",
)
SETTLED = ("ready", "ready-empty", "token", "error")


def chromium_missing() -> str | None:
    """Why Chromium cannot be used here, or None when it can."""
    if not (os.access(CHROMIUM, os.X_OK) or shutil.which(CHROMIUM)):
        return f"no Chromium at {CHROMIUM}: run bash scripts/install-browser (or set LLMLEDGER_CHROMIUM)"
    return None


class Chromium:
    def __init__(self, process: subprocess.Popen[bytes], port: int) -> None:
        self.process = process
        self.port = port

    @classmethod
    def start(cls, profile_dir: Path, timeout: float = 30) -> Chromium:
        process = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile_dir}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        active = profile_dir / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and process.poll() is None:
            lines = active.read_text().splitlines() if active.exists() else []
            if lines and lines[0].isdigit():
                return cls(process, int(lines[0]))
            time.sleep(0.05)
        process.kill()
        raise AssertionError(f"chromium did not open its DevTools port (exit status {process.poll()})")

    def new_page(self, width: int = 1280, height: int = 900) -> Page:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/json/new?about:blank", method="PUT")
        with urllib.request.urlopen(request, timeout=10) as response:
            target = json.load(response)
        page = Page(connect(target["webSocketDebuggerUrl"], max_size=None, open_timeout=10).__enter__())
        for domain in ("Page", "Runtime", "Log"):
            page.send(f"{domain}.enable")
        page.send("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)
        return page

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Page:
    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.events: list[dict[str, Any]] = []
        self._next = 0

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        self._next += 1
        self.socket.send(json.dumps({"id": self._next, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv(timeout=30))
            if message.get("id") == self._next:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            self.events.append(message)

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def open(self, url: str, timeout: float = 30) -> str:
        """Load `url` and wait until the dashboard says it has settled; the state it settled in."""
        self.events.clear()
        # A URL that differs from the page's only in its fragment is a same-document navigation: the page stays,
        # settled, until its hashchange handler runs; unsettle it first so that `settle` waits for that.
        self.evaluate("document.body && (document.body.dataset.state = 'navigating')")
        self.send("Page.navigate", url=url)
        return self.settle(timeout)

    def settle(self, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        state = None
        while time.monotonic() < deadline:
            state = self.evaluate(
                "document.readyState === 'complete' && document.body ? document.body.dataset.state : ''"
            )
            if state in SETTLED:
                return str(state)
            time.sleep(0.05)
        raise AssertionError(f"the page did not settle within {timeout}s (state {state!r})")

    def problems(self) -> list[str]:
        """What the console showed as errors or warnings since the last `open`."""
        self.send("Runtime.evaluate", expression="0")  # flush events sent before now
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "warning", "assert"):
                found.append(" ".join(str(arg.get("value", arg.get("description", ""))) for arg in params["args"]))
            elif method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                found.append(details.get("exception", {}).get("description") or details.get("text", "exception"))
            elif method == "Log.entryAdded" and params["entry"]["level"] in ("error", "warning"):
                found.append(params["entry"]["text"] + " " + params["entry"].get("url", ""))
        return found

    def screenshot(self, path: Path) -> Path:
        """A PNG of the whole page (not only the window) at `path`."""
        metrics = self.send("Page.getLayoutMetrics")
        height = int(metrics["cssContentSize"]["height"])
        data = self.send(
            "Page.captureScreenshot",
            format="png",
            captureBeyondViewport=True,
            clip={"x": 0, "y": 0, "width": 1280, "height": height, "scale": 1},
        )["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        self.socket.close()
