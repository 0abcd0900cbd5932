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
    "cluster": "LLMLEDGER_CLUSTER",
    "forward": "LLMLEDGER_FORWARD",
    "batch_size": "LLMLEDGER_BATCH_SIZE",
    "flush_interval": "LLMLEDGER_FLUSH_INTERVAL",
    "duplicate_settle": "LLMLEDGER_DUPLICATE_SETTLE",
    "max_request_bytes": "LLMLEDGER_MAX_REQUEST_BYTES",
    "memory_limit_mib": "LLMLEDGER_MEMORY_LIMIT_MIB",
    "auth_token": "LLMLEDGER_AUTH_TOKEN",
    "auth_token_file": "LLMLEDGER_AUTH_TOKEN_FILE",
    "tls_cert": "LLMLEDGER_TLS_CERT",
    "tls_key": "LLMLEDGER_TLS_KEY",
    "queue_dir": "LLMLEDGER_QUEUE_DIR",
    "queue_max_bytes": "LLMLEDGER_QUEUE_MAX_BYTES",
    "queue_fsync": "LLMLEDGER_QUEUE_FSYNC",
    "queue_fsync_interval": "LLMLEDGER_QUEUE_FSYNC_INTERVAL",
    "clickhouse_timeout": "LLMLEDGER_CLICKHOUSE_TIMEOUT",
    "attributes": "LLMLEDGER_ATTRIBUTES",
    "budgets_file": "LLMLEDGER_BUDGETS_FILE",
    "budget_interval": "LLMLEDGER_BUDGET_INTERVAL",
    "extract_workers": "LLMLEDGER_EXTRACT_WORKERS",
    "jaeger_url": "LLMLEDGER_JAEGER_URL",
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
    cluster: str | None = None  # the ClickHouse cluster (<remote_servers> name) whose Distributed tables we write
    forward: str | None = None
    batch_size: int = 50_000  # rows per insert at most (fewer, larger parts: less merging per row)
    flush_interval: float = 1.0
    # Seconds after its inserts that a collector takes back its deliveries of calls another collector stored first
    # (an insert begun earlier elsewhere must be visible by then): until then such a call counts twice in the rollups.
    duplicate_settle: float = 60.0
    max_request_bytes: int = 64 * 1024 * 1024  # per request, compressed and decompressed
    memory_limit_mib: int | None = None  # None: `memory_limit.default_limit_mib()`; 0: no limit
    auth_token: str | None = field(default=None, repr=False)  # bearer token both receivers require
    auth_token_file: Path | None = None  # or the token in a file (first line)
    tls_cert: Path | None = None  # PEM chain; with tls_key, both receivers speak TLS only
    tls_key: Path | None = None
    queue_dir: Path | None = None  # None: `queue` in the data directory
    queue_max_bytes: int = 1 << 30
    queue_fsync: str = "batch"  # batch: fsync before acknowledging; interval: every queue_fsync_interval s
    queue_fsync_interval: float = 1.0
    clickhouse_timeout: float = 30.0  # send/receive timeout of each insert, seconds
    attributes: tuple[str, ...] = ()  # span attribute names copied into llm_calls.Attributes
    budgets_file: Path | None = None  # the budget file (shared with the instrumentation)
    budget_interval: float = 15.0  # seconds between evaluations of budget alerts
    extract_workers: int = 0  # worker processes extracting LLM calls (0: on the receiving threads)
    jaeger_url: str | None = None  # Jaeger UI base URL: the dashboard links trace ids to URL/trace/<id>

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
        if config.duplicate_settle <= 0:
            raise ConfigError(f"{source}: duplicate_settle must be > 0")
        if config.max_request_bytes < 1:
            raise ConfigError(f"{source}: max_request_bytes must be ≥ 1")
        if config.memory_limit_mib is not None and config.memory_limit_mib < 0:
            raise ConfigError(f"{source}: memory_limit_mib must be ≥ 0 (0: no limit)")
        if config.queue_max_bytes < 1 << 16 or config.queue_fsync_interval <= 0 or config.clickhouse_timeout <= 0:
            raise ConfigError(
                f"{source}: queue_max_bytes must be ≥ 65536, queue_fsync_interval and clickhouse_timeout > 0"
            )
        if not 0 <= config.extract_workers <= 64:
            raise ConfigError(f"{source}: extract_workers must be between 0 and 64")
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
    config = config.updated(flags, "command line")
    if (config.tls_cert is None) != (config.tls_key is None):  # checked once all sources are in
        raise ConfigError("tls_cert and tls_key go together: give both or neither")
    if config.auth_token and config.auth_token_file:
        raise ConfigError("give auth_token or auth_token_file, not both")
    return config


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
        if key in (
            "grpc_port",
            "http_port",
            "batch_size",
            "max_request_bytes",
            "memory_limit_mib",
            "queue_max_bytes",
            "extract_workers",
        ):
            number = int(value)
            if key.endswith("port") and not 0 <= number <= 65535:
                raise ValueError(f"{number} is not a port")
            return number
        if key in (
            "flush_interval",
            "duplicate_settle",
            "queue_fsync_interval",
            "clickhouse_timeout",
            "budget_interval",
        ):
            return float(value)
        if key == "queue_fsync":
            if str(value) not in ("batch", "interval"):
                raise ValueError(f"{value!r}: use batch or interval")
            return str(value)
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
        if key in ("data_dir", "auth_token_file", "tls_cert", "tls_key", "queue_dir", "budgets_file"):
            return Path(str(value)).expanduser()
        return str(value)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{source}: {key}: {error}") from None
