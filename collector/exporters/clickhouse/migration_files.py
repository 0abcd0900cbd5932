# SPDX-License-Identifier: Apache-2.0
"""The migration files of `llmledger.schemas/migrations`, read and split into statements; `migrations.py` applies them.

Apart from `migrations.py` because reading them needs neither clickhouse-connect nor the cluster renderer: a command
that only checks whether a running server's schema is up to date (`settings.open_query`) reads the names here and
asks the server over HTTP, without loading the driver.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from .errors import BadQuery
from .schema_files import schema_folder

RAW_SPANS = "raw_spans"
SQL_ONLY = "sql_only"

_FILE_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_OPTIONAL = re.compile(r"^--\s*llmledger:\s*optional\s*=\s*(\w+)\s*$", re.MULTILINE)
_STATEMENT_END = re.compile(r";[ \t]*$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Migration(NamedTuple):  # not a dataclass: `dataclasses` imports `inspect`, a cost on the commands' path
    name: str  # file name without .sql, e.g. "0001_llm_calls"
    template: str
    optional: str | None  # the feature it belongs to (RAW_SPANS, SQL_ONLY), None when always applied

    @property
    def checksum(self) -> str:
        import hashlib

        return hashlib.sha256(self.template.encode()).hexdigest()[:16]

    def statements(self, database: str) -> list[str]:
        """The statements of this migration for `database`, without their trailing `;`."""
        rendered = self.template.replace("{database}", quote_identifier(database))
        statements, lines = [], []
        for line in rendered.splitlines():
            lines.append(line)
            if _STATEMENT_END.search(_code(line)):
                statements.append("\n".join(lines).strip().removesuffix(";").rstrip())
                lines = []
        return [statement for statement in statements if not _only_comments(statement)]


def migrations(*, raw_spans: bool = False, sql_only: bool = False) -> list[Migration]:
    """All migrations in order; the raw-span ones only when `raw_spans` or `sql_only`, the SQL-only ones only when
    `sql_only`."""
    found = []
    for entry in sorted(schema_folder("migrations").iterdir(), key=lambda e: e.name):
        if not _FILE_NAME.match(entry.name):
            continue
        text = entry.read_text(encoding="utf-8")
        optional = _OPTIONAL.search(text)
        found.append(Migration(entry.name.removesuffix(".sql"), text, optional.group(1) if optional else None))
    wanted = {None, *((RAW_SPANS,) if raw_spans or sql_only else ()), *((SQL_ONLY,) if sql_only else ())}
    return [m for m in found if m.optional in wanted]


def quote_identifier(name: str) -> str:
    """`name` back-quoted; only plain identifiers are accepted, so a database name can never inject SQL."""
    if not _IDENTIFIER.match(name):
        raise BadQuery(f"database name {name!r} must be letters, digits and underscores, not starting with a digit")
    return f"`{name}`"


def _code(line: str) -> str:
    """`line` without a trailing `--` comment (left alone when quotes make it ambiguous)."""
    return line.split("--", 1)[0] if "'" not in line else line


def _only_comments(chunk: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in chunk.splitlines())
