# SPDX-License-Identifier: Apache-2.0
"""`llmledger report`'s result as data (`Report`), and that data as a table, JSON, JSON lines or CSV.

The queries fill a `Report` once; each format only lays it out, so the four never disagree. Machine formats carry
every section, empty ones included (an empty list in JSON), so a program can tell "none" from "not asked".
Money is exact: `Decimal` in the data, printed as a decimal string (`"0.00024"`) in JSON, JSON lines and CSV,
as `llmledger budget status --format json` prints it, never through a float.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from ._options import OUTPUT_FORMATS
from ._table import count, usd
from ._table import render as render_table

FORMATS = OUTPUT_FORMATS


@dataclass(slots=True)
class Section:
    """One list of the report: `key` names it in machine formats, `title` in the table; a column ending in
    `_usd` holds USD."""

    key: str
    title: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]] = field(default_factory=list)

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


@dataclass(slots=True)
class Report:
    """Everything `llmledger report` found for one period."""

    since: str  # as given, e.g. "7d"
    seconds: int
    tenant: str  # "" for all tenants
    total: dict[str, Any]  # spend_usd, calls, input_tokens, output_tokens, unpriced_calls, usage_missing_calls
    cache: dict[str, Any] = field(default_factory=dict)  # savings_usd, cache_read_input_tokens, input_tokens
    sections: dict[str, Section] = field(default_factory=dict)  # by key, in report order

    @property
    def scope(self) -> str:
        return f"tenant {self.tenant}" if self.tenant else "all tenants"

    @property
    def empty(self) -> bool:
        return not self.total["calls"]

    def add(self, section: Section) -> Section:
        self.sections[section.key] = section
        return section


def render(report: Report, fmt: str) -> str:
    """`report` in `fmt` (one of `FORMATS`), without a trailing newline."""
    if fmt == "table":
        return table(report)
    if fmt == "json":
        return json.dumps(document(report), indent=2)
    if fmt in ("jsonl", "jsonlines"):
        return "\n".join(json.dumps(record, separators=(",", ":")) for record in records(report))
    if fmt == "csv":
        return csv_text(report)
    raise ValueError(f"unknown format {fmt!r}")


def document(report: Report) -> dict[str, Any]:
    """The report as one JSON document."""
    out: dict[str, Any] = {
        "period": {"since": report.since.strip(), "seconds": report.seconds, "tenant": report.tenant or None},
        "total": _plain(report.total),
        "cache": _plain(report.cache),
    }
    for key, section in report.sections.items():
        out[key] = [_plain(record) for record in section.records()]
    return out


def records(report: Report) -> Iterator[dict[str, Any]]:
    """The report as flat records, each naming its `section`: the totals first, then every row of every list."""
    yield {"section": "total", **_plain(report.total)}
    if report.cache:
        yield {"section": "cache", **_plain(report.cache)}
    for key, section in report.sections.items():
        for record in section.records():
            yield {"section": key, **_plain(record)}


def csv_text(report: Report) -> str:
    """`records` as one CSV table: a `section` column, then every column any section has, empty where it has none."""
    rows = list(records(report))
    header: dict[str, None] = {}
    for row in rows:
        header.update(dict.fromkeys(row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(header), lineterminator="\n")
    writer.writeheader()
    writer.writerows({key: ", ".join(v) if isinstance(v, list) else v for key, v in row.items()} for row in rows)
    return buffer.getvalue().rstrip("\n")


def _plain(record: dict[str, Any]) -> dict[str, Any]:
    return {key: _json_value(value) for key, value in record.items()}


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        text = format(value, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_json_value(item) for item in value]
    return value


# ---------------------------------------------------------------------------------------------------------------
# The table: what a person reads in a terminal.


def table(report: Report) -> str:
    total = report.total
    out = [f"LLM spend over the last {report.since.strip()} ({report.scope})"]
    out.append(
        f"\nTotal spend {usd(total['spend_usd'])} in {count(total['calls'])} calls "
        f"({count(total['input_tokens'])} input tokens, {count(total['output_tokens'])} output tokens)"
    )
    if report.empty:
        out.append("\nNo LLM calls recorded in this period.")
        return "\n".join(out)
    for key in ("spend_by_model", "spend_by_provider", "spend_by_service", "spend_by_day", "traces"):
        if key in report.sections:
            out.append(_titled(report.sections[key]))
    cache = report.cache
    share = (
        Decimal(cache["cache_read_input_tokens"]) / Decimal(cache["input_tokens"]) * 100
        if cache["input_tokens"]
        else Decimal(0)
    )
    out.append(f"\nCache savings: {usd(cache['savings_usd'])} saved; {share:.1f}% of input tokens were cache reads")
    by_cache = report.sections["cache_savings"]
    if by_cache.rows:
        out.append(_cells(by_cache))
    unpriced = report.sections["unpriced"]
    if total["unpriced_calls"]:
        out.append(_titled(unpriced, unpriced.title.format(calls=count(total["unpriced_calls"]))))
        out.append("  (add prices for these models with LLMLEDGER_PRICES_FILE: docs/pricing.md)")
    else:
        out.append("\nUnpriced calls: none")
    missing = report.sections["usage_missing"]
    if missing.rows:
        calls = total["usage_missing_calls"]
        streams = sum(record["streams"] for record in missing.records())
        what = f"{count(calls)} streams" if calls == streams else f"{count(calls)} calls ({count(streams)} streams)"
        out.append(_titled(missing, missing.title.format(calls=what)))
        out.append(
            "  (a price file cannot help these: the usage never arrived. A stream closed before its end never gets "
            "it; an OpenAI-compatible host sends it only when asked (stream_options.include_usage, which llmledger "
            "asks for unless LLMLEDGER_OPENAI_INCLUDE_USAGE=false))"
        )
    return "\n".join(out)


def _titled(section: Section, title: str | None = None) -> str:
    return f"\n{title or section.title}\n" + (_cells(section) if section.rows else "  (none)")


def _cells(section: Section) -> str:
    headers = [_header(column) for column in section.columns]
    cells = [[_cell(value, column) for value, column in zip(row, section.columns, strict=True)] for row in section.rows]
    return render_table(headers, cells)


def _header(column: str) -> str:
    return {"spend_usd": "spend", "savings_usd": "saved", "trace_id": "trace"}.get(
        column, column.removesuffix("_usd").replace("_", " ")
    )


def _cell(value: Any, column: str) -> str:
    if column.endswith("_usd"):
        return usd(value)
    if isinstance(value, bool) or value is None:
        return "-" if value is None else str(value).lower()
    if isinstance(value, int):
        return count(value)
    if isinstance(value, Sequence) and not isinstance(value, str):
        return ", ".join(map(str, value)) or "-"
    return str(value) or "-"


__all__ = ["FORMATS", "Report", "Section", "render"]
