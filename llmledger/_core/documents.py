# SPDX-License-Identifier: Apache-2.0
"""Reading the YAML or JSON text of a user's file (prices, budgets), with a syntax error that says where it is.

PyYAML's own message runs over several lines and names `"<unicode string>"` rather than the file; a `DocumentError`
is one line that starts at the position, e.g. ``line 3, column 4: not valid YAML: expected <block end>, but found
'<block mapping start>' (while parsing a block collection at line 2, column 3)``. Callers put the file (and the
variable that named it) in front.
"""

from __future__ import annotations

import json
from typing import Any


class DocumentError(ValueError):
    """The text is not valid YAML or JSON; the message starts with where (line and column, 1-based)."""


def parse(text: str, *, json_text: bool) -> Any:
    """The document in `text`: JSON when `json_text`, else YAML (which JSON also is)."""
    if json_text:
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise DocumentError(f"line {error.lineno}, column {error.colno}: not valid JSON: {error.msg}") from error
    import yaml  # here, not at import: importing llmledger stays light

    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = error.problem or error.context or "syntax error"
        context = error.context_mark
        started = (
            f" ({error.context} at line {context.line + 1}, column {context.column + 1})"
            if error.context and error.problem and context is not None
            else ""
        )
        raise DocumentError(f"{where}not valid YAML: {problem}{started}") from error
    except yaml.reader.ReaderError as error:  # a character YAML does not allow, at a character offset
        line = text.count("\n", 0, error.position) + 1
        column = error.position - text.rfind("\n", 0, error.position)
        character = error.character if isinstance(error.character, int) else ord(error.character[:1] or "\0")
        raise DocumentError(
            f"line {line}, column {column}: not valid YAML: character #x{character:04x} is not allowed"
        ) from error
    except yaml.YAMLError as error:
        raise DocumentError(f"not valid YAML: {' '.join(str(error).split())}") from error


__all__ = ["DocumentError", "parse"]
