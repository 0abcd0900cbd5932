# SPDX-License-Identifier: Apache-2.0
"""The cost dashboard: a page of charts and tables over the named queries, served by the collector (`/ui` on
its HTTP port) and by `llmledger ui`, and written as one self-contained file by `llmledger report --html`.

* `Dashboard(run, base=..., jaeger_url=...)` — the page and data routes (`routes()`, `query_routes()`).
* `collect(run, filters, views=...)` — the numbers of one view (or several) as one document.
* `parse(query)` — the view and filters of a page URL; `BadFilter` names what is wrong.
* `page_html(api_path=..., data=...)` — the page, live or with its data embedded.

Charts are drawn by `static/chart.js`, llmledger's own SVG module (Apache-2.0, no third-party code), so the
page works with no internet.
"""

from .data import collect, collect_part, jsonable
from .filters import SECTIONS, VIEWS, BadFilter, Filters, parse
from .page import page_html
from .routes import PAGE_PATH, Dashboard, client_runner

__all__ = [
    "PAGE_PATH",
    "SECTIONS",
    "VIEWS",
    "BadFilter",
    "Dashboard",
    "Filters",
    "client_runner",
    "collect",
    "collect_part",
    "jsonable",
    "page_html",
    "parse",
]
