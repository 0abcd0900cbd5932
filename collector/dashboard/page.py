# SPDX-License-Identifier: Apache-2.0
"""The dashboard page as one HTML document: the shell of `static/index.html` with its style, chart module and
script inlined, so the page needs no other request than its data and no network beyond the server it came
from (its Content-Security-Policy allows nothing else). With `data` it embeds every view's document instead of
fetching one, which is `llmledger report --html`: one file to mail or archive.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from .data import jsonable


@cache
def _asset(name: str) -> str:
    return (resources.files(__package__) / "static" / name).read_text(encoding="utf-8")


def page_html(*, api_path: str = "", data: dict[str, Any] | None = None) -> bytes:
    """The page, fetching its data from `api_path`, or showing `data` (a `collect` document) as it is."""
    html = _asset("index.html")
    embedded = ""
    if data is not None:
        # `<` escaped inside the JSON, so no value can close the script element it sits in.
        text = json.dumps(jsonable(data), separators=(",", ":")).replace("<", "\\u003c")
        embedded = f'<script type="application/json" id="llmledger-data">{text}</script>'
    for marker, value in (
        ("/*STYLE*/", _asset("dashboard.css")),
        ("/*API*/", api_path.replace('"', "%22")),
        ("<!--DATA-->", embedded),
        ("/*CHART*/", _asset("chart.js")),
        ("/*SCRIPT*/", _asset("dashboard.js")),
    ):
        html = html.replace(marker, value, 1)
    return html.encode()
