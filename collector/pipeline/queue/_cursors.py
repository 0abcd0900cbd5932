# SPDX-License-Identifier: Apache-2.0
"""A consumer's committed position, persisted atomically (temp file, fsync, rename, fsync of the directory).

Besides the committed position a cursor may name the batch in flight: the exact range of positions a consumer
is about to write, saved *before* it writes, so that after a crash it re-forms exactly that batch and its
deduplication token, and a repeat of an insert that did succeed is ignored downstream.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Cursor:
    committed: int = 0
    inflight: tuple[int, int] | None = None  # [start, end) being written, not yet committed
    rows_per_insert: int = 0  # how the in-flight batch was cut into inserts (each with its own token)


def load(path: Path) -> Cursor | None:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    inflight = document.get("inflight")
    return Cursor(
        int(document["committed"]),
        (int(inflight[0]), int(inflight[1])) if inflight else None,
        int(document.get("rows_per_insert", 0)),
    )


def save(path: Path, cursor: Cursor) -> None:
    document = {"committed": cursor.committed, "inflight": cursor.inflight, "rows_per_insert": cursor.rows_per_insert}
    write_atomically(path, json.dumps(document).encode())


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that a crash leaves either the old or the new content, whole."""
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)
    sync_directory(path.parent)


def sync_directory(directory: Path) -> None:
    """Make a rename or a new file in `directory` durable (its entry lives in the directory, not the file)."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
