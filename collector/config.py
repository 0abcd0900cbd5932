# SPDX-License-Identifier: Apache-2.0
"""The collector's settings: an optional YAML file, then `LLMLEDGER_*` environment variables, then flags.

Each source overrides the one before, key by key. YAML keys are the option names with `_` or `-`
(`grpc_port`, `clickhouse-url`, …); environment variables are `LLMLEDGER_` + the name in capitals, except the
ClickHouse connection, which shares the names every command reads (`LLMLEDGER_CLICKHOUSE_URL/_USER/_PASSWORD/
_DATABASE`, `LLMLEDGER_DATA_DIR`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

ENVIRONMENT = {
    "host": "LLMLEDGER_HOST",
    "grpc_port": "LLMLEDGER_GRPC_PORT",
    "http_port": "LLMLEDGER_HTTP_PORT",
    "clickhouse_url": "LLMLEDGER_CLICKHOUSE_URL",
    "clickhouse_user": "LLMLEDGER_CLICKHOUSE_USER",
    "clickhouse_password": "LLMLEDGER_CLICKHOUSE_PASSWORD",
    "database": "LLMLEDGER_CLICKHOUSE_DATABASE",
    "data_dir": "LLMLEDGER_DATA_DIR",
    "store_raw_spans": "LLMLEDGER_STORE_RAW_SPANS",
    "forward": "LLMLEDGER_FORWARD",
    "batch_size": "LLMLEDGER_BATCH_SIZE",
    "flush_interval": "LLMLEDGER_FLUSH_INTERVAL",
    "attributes": "LLMLEDGER_ATTRIBUTES",
    "budgets_file": "LLMLEDGER_BUDGETS_FILE",
    "budget_interval": "LLMLEDGER_BUDGET_INTERVAL",
}
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


class ConfigError(ValueError):
    """A setting has a value that cannot be used; the message names the setting and its source."""


@dataclass(frozen=True, slots=True)
class CollectorConfig:
    host: str = "127.0.0.1"
    grpc_port: int = 4317
    http_port: int = 4318
    clickhouse_url: str | None = None
    clickhouse_user: str = "default"
    clickhouse_password: str = field(default="", repr=False)
    database: str = "llmledger"
    data_dir: Path | None = None  # None: llmledger's default data directory
    store_raw_spans: bool = False
    forward: str | None = None
    batch_size: int = 10_000
    flush_interval: float = 1.0
    attributes: tuple[str, ...] = ()  # span attribute names copied into llm_calls.Attributes
    budgets_file: Path | None = None  # the budget file (shared with the instrumentation)
    budget_interval: float = 15.0  # seconds between evaluations of budget alerts

    def updated(self, values: Mapping[str, Any], source: str) -> CollectorConfig:
        """A copy with `values` (None values ignored) converted to each field's type."""
        known = {f.name: f for f in fields(self)}
        changes: dict[str, Any] = {}
        for raw_key, value in values.items():
            key = raw_key.replace("-", "_")
            if key not in known:
                raise ConfigError(f"{source}: unknown setting {raw_key!r}")
            if value is not None:
                changes[key] = _convert(key, value, source)
        config = replace(self, **changes)
        if config.batch_size < 1 or config.flush_interval <= 0:
            raise ConfigError(f"{source}: batch_size must be ≥ 1 and flush_interval > 0")
        if config.budget_interval <= 0:
            raise ConfigError(f"{source}: budget_interval must be > 0")
        return config


def load(
    file: str | os.PathLike[str] | None, flags: Mapping[str, Any], environ: Mapping[str, str] = os.environ
) -> CollectorConfig:
    config = CollectorConfig()
    if file is not None:
        config = config.updated(_read_yaml(Path(file)), str(file))
    env = {key: environ[name] for key, name in ENVIRONMENT.items() if environ.get(name) not in (None, "")}
    config = config.updated(env, "environment")
    return config.updated(flags, "command line")


def _read_yaml(path: Path) -> Mapping[str, Any]:
    import yaml

    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path} is not valid YAML: {error}") from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level")
    return document


def _convert(key: str, value: Any, source: str) -> Any:
    try:
        if key in ("grpc_port", "http_port", "batch_size"):
            number = int(value)
            if key.endswith("port") and not 0 <= number <= 65535:
                raise ValueError(f"{number} is not a port")
            return number
        if key in ("flush_interval", "budget_interval"):
            return float(value)
        if key == "attributes":
            # A YAML list or a repeated flag, or comma-separated text (the environment variable).
            items = value.split(",") if isinstance(value, str) else value
            if not isinstance(items, list | tuple) or not all(isinstance(item, str) for item in items):
                raise ValueError(f"{value!r} is not a list of attribute names")
            return tuple(item.strip() for item in items if item.strip())
        if key == "store_raw_spans":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in _TRUE | _FALSE:
                return text in _TRUE
            raise ValueError(f"{value!r} is not true or false")
        if key in ("data_dir", "budgets_file"):
            return Path(str(value)).expanduser()
        return str(value)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{source}: {key}: {error}") from None
