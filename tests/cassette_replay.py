# SPDX-License-Identifier: Apache-2.0
"""Reading the recorded interactions in tests/cassettes, for tests that replay them through real SDKs."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import yaml

CASSETTES = Path(__file__).parent / "cassettes"


@cache
def expected() -> dict[str, list[dict[str, Any]]]:
    """expected.jsonl grouped by cassette file, in interaction order."""
    by_file: dict[str, list[dict[str, Any]]] = defaultdict(list)
    with (CASSETTES / "expected.jsonl").open() as lines:
        for line in lines:
            row = json.loads(line)
            by_file[row["file"]].append(row)
    return dict(by_file)


def files_for(providers: Iterable[str], endpoints: Iterable[str]) -> list[str]:
    providers, endpoints = set(providers), set(endpoints)
    return sorted(
        f
        for f, rows in expected().items()
        if any(r["provider"] in providers and r["endpoint"] in endpoints for r in rows)
    )


@cache
def interactions(file: str) -> list[dict[str, Any]]:
    with (CASSETTES / file).open() as stream:
        return yaml.load(stream, Loader=yaml.CLoader if hasattr(yaml, "CLoader") else yaml.Loader)["interactions"]


def request_json(interaction: dict[str, Any]) -> dict[str, Any]:
    body = interaction["request"]["body"]
    if isinstance(body, dict):
        body = body.get("string")
    if isinstance(body, bytes):
        body = body.decode()
    return json.loads(body) if body else {}
