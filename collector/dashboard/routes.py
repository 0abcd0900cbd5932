# SPDX-License-Identifier: Apache-2.0
"""The dashboard's two HTTP routes, for the collector's HTTP port and for `llmledger ui`:

* `<base>` (e.g. `/ui`): the page. It holds no data, so it is open like `/healthz`: a browser cannot send a
  bearer token when it navigates, so the page asks for the token and sends it with its data request.
* `<base>/api/data?view=…&days=…&tenant=…&service=…&feature=…[&part=head|<section>]`: the view's JSON document
  (or one part of it: the page asks for the head, then each section, and draws each as it comes), which needs the
  bearer token when one is set, as `/metrics` and `/v1/budgets/status` do. 400 names a bad parameter, 503 says
  ClickHouse could not answer.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from clickhouse_connect.driver.client import Client

from ..exporters.clickhouse.client import translate_errors
from ..exporters.clickhouse.errors import ClickHouseError
from .data import Run, collect, collect_part, jsonable
from .filters import BadFilter, parse
from .page import page_html

_log = logging.getLogger(__name__)
_JSON = "application/json"
_HTML = "text/html; charset=utf-8"
PAGE_PATH = "/ui"

Answer = tuple[int, str, bytes]


def client_runner(client: Client) -> Run:
    """A `Run` over a clickhouse-connect client (shared by threads: llmledger's clients keep no session)."""

    def run(sql: str, params: dict[str, Any]) -> tuple[Any, Any]:
        with translate_errors():
            result = client.query(sql, parameters=params)
        return result.column_names, result.result_rows

    return run


class Dashboard:
    """The page and data routes under `base`; `jaeger_url` makes trace ids links into Jaeger's UI."""

    def __init__(self, run: Run, *, base: str = PAGE_PATH, jaeger_url: str = "") -> None:
        self.run = run
        self.base = base.rstrip("/")
        self.jaeger_url = jaeger_url
        self.api_path = f"{self.base}/api/data"

    @property
    def page_paths(self) -> frozenset[str]:
        """The paths of the page itself (open: it holds no data)."""
        return frozenset({self.base or "/", f"{self.base}/"})

    def page(self) -> Answer:
        return 200, _HTML, page_html(api_path=self.api_path)

    def data(self, query: str) -> Answer:
        try:
            filters = parse(query)
            if filters.part:
                document = collect_part(self.run, filters, jaeger_url=self.jaeger_url)
            else:
                document = collect(self.run, filters, jaeger_url=self.jaeger_url)
        except BadFilter as error:
            return 400, _JSON, json.dumps({"error": f"bad dashboard URL: {error}"}).encode()
        except ClickHouseError as error:
            _log.warning("dashboard data unavailable: %s", error)
            return 503, _JSON, json.dumps({"error": f"ClickHouse could not answer: {error}"}).encode()
        return 200, _JSON, json.dumps(jsonable(document), separators=(",", ":")).encode()

    def routes(self) -> dict[str, Callable[[], Answer]]:
        return dict.fromkeys(self.page_paths, self.page)

    def query_routes(self) -> dict[str, Callable[[str], Answer]]:
        return {self.api_path: self.data}
