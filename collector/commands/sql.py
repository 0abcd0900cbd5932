# SPDX-License-Identifier: Apache-2.0
"""`llmledger sql`: run one SQL query, or a named one, against the cost tables and print the result.

ClickHouse formats the output itself (`PrettyCompactMonoBlock`, `CSVWithNames`, `JSONEachRow` as one array for
`json` and one object a line for `jsonl`), so Decimal costs are printed exactly as stored, never through a float.

The query goes to ClickHouse's HTTP interface through `http_query` (the standard library's socket), not
clickhouse-connect, whose import alone takes longer than a short query does to run.

Read-only unless `--allow-writes`: the query runs with ClickHouse's `readonly=2` setting, so the server itself
refuses anything that writes or changes schema (and refuses a query that tries to lift the setting), whatever
the SQL looks like; `readonly=2` rather than 1 still lets the query set the output-format settings it needs.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ._options import (
    OUTPUT_FORMATS,
    UsageError,
    add_connection_options,
    connection_settings,
    reports_errors,
    require_data,
)

# Numbers as JSON numbers, exactly as stored (a Decimal is printed in full, never through a float).
_JSON_NUMBERS: dict[str, int | str] = {
    "output_format_json_quote_64bit_integers": 0,
    "output_format_json_quote_decimals": 0,
}
# Per --format: ClickHouse's name for it and its settings, to which `run` adds `default_format`, a str.
FORMATS: dict[str, tuple[str, dict[str, int | str]]] = {
    "table": (
        "PrettyCompactMonoBlock",
        {
            "output_format_pretty_color": 0,
            "output_format_pretty_row_numbers": 0,
            "output_format_pretty_max_rows": 1_000_000,
            "output_format_pretty_single_large_number_tip_threshold": 0,
            "output_format_pretty_highlight_digit_groups": 0,
        },
    ),
    "csv": ("CSVWithNames", {}),
    "json": ("JSONEachRow", {**_JSON_NUMBERS, "output_format_json_array_of_rows": 1}),  # one document: an array
    "jsonl": ("JSONEachRow", _JSON_NUMBERS),  # JSON lines: one object a line
}
FORMATS["jsonlines"] = FORMATS["jsonl"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sql",
        help="run a SQL query (or a named one) and print the result",
        description="Run one SQL query against the llmledger database, or a named query with --query NAME "
        "(--query list shows them). Unqualified table names refer to the llmledger database.",
    )
    parser.add_argument("sql", nargs="?", metavar="SQL", help='the query, e.g. "SELECT sum(TotalCost) FROM llm_calls"')
    parser.add_argument("--query", "-q", metavar="NAME", help="run the named query NAME; 'list' lists them")
    parser.add_argument(
        "--param",
        "-p",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="query parameter, bound as {NAME:Type} (repeatable), e.g. -p days=7",
    )
    parser.add_argument(
        "--format",
        "-f",
        choices=OUTPUT_FORMATS,
        default="table",
        help="output format: table, csv, json (one array of objects) or jsonl / jsonlines (one object a line) [table]",
    )
    parser.add_argument("--show-sql", action="store_true", help="print the named query's SQL instead of running it")
    parser.add_argument(
        "--allow-writes",
        action="store_true",
        help="let the query change data or schema (INSERT, ALTER, DROP, …); without it the server refuses them",
    )
    add_connection_options(parser)
    parser.set_defaults(func=reports_errors(run))


def run(args: argparse.Namespace) -> int:
    from ..exporters.clickhouse.errors import QueryFailed
    from ..exporters.clickhouse.settings import open_query

    if args.query == "list":
        from ..exporters.clickhouse.queries import named_queries

        _print_list(named_queries())
        return 0
    if (args.sql is None) == (args.query is None):
        raise UsageError("give either a SQL query or --query NAME (--query list shows the names)")
    values = _parse_params(args.param)
    if args.query is not None:
        from ..exporters.clickhouse.queries import named_query

        query = named_query(args.query)
        if args.show_sql:
            print(query.sql)
            return 0
        sql, parameters = query.sql, query.bind(values)
    else:
        sql, parameters = args.sql, dict(values)
    sql = sql.strip().rstrip(";").rstrip()
    fmt, settings = FORMATS[args.format]
    # The format as a setting, not a FORMAT clause appended to the statement: an INSERT … VALUES cannot take one.
    settings = {**settings, "default_format": fmt}
    if not args.allow_writes:
        settings["readonly"] = _READ_ONLY
    with open_query(require_data(connection_settings(args))) as client:
        try:
            output = client.raw(sql, parameters=parameters, settings=settings)
        except QueryFailed as error:
            if error.code in _READONLY_CODES and not args.allow_writes:
                raise UsageError(
                    "refused: llmledger sql is read-only, and this query writes or changes settings it may not "
                    f"({error}); run it with --allow-writes if you mean to change data"
                ) from None
            raise
    sys.stdout.buffer.write(output)
    sys.stdout.flush()
    if _is_empty(output, args.format):
        # ClickHouse prints nothing (or only a header) for an empty result: say so, in the table itself, and on
        # stderr for machine formats, whose output must stay parseable.
        print(NO_ROWS, file=sys.stdout if args.format == "table" else sys.stderr, flush=True)
    return 0


NO_ROWS = "(no rows)"


def _is_empty(output: bytes, fmt: str) -> bool:
    """Whether `output` in format `fmt` holds no row (CSV keeps its header line)."""
    lines = [line for line in output.splitlines() if line.strip()]
    if fmt == "json":
        return b"".join(lines).replace(b" ", b"") == b"[]"
    return len(lines) <= (1 if fmt == "csv" else 0)


_READ_ONLY = 2  # read queries and SET of settings other than readonly itself
_READONLY_CODES = frozenset({164})  # READONLY: "Cannot execute query in readonly mode"


def _parse_params(items: list[str]) -> dict[str, str]:
    values = {}
    for item in items:
        name, separator, value = item.partition("=")
        if not separator or not name.strip():
            raise UsageError(f"--param {item!r} is not NAME=VALUE")
        values[name.strip()] = value
    return values


def _print_list(queries: dict[str, Any]) -> None:
    width = max(len(name) for name in queries)
    for query in queries.values():
        params = ", ".join(
            f"{p.name}={p.default!r}" if p.default == "" else f"{p.name}={p.default}" for p in query.params
        )
        print(f"{query.name:<{width}}  {query.title}" + (f"  [{params}]" if params else ""))
