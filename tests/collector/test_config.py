# SPDX-License-Identifier: Apache-2.0
"""Collector settings: YAML file, then LLMLEDGER_* environment, then flags, each overriding the one before."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmledger.collector.config import CollectorConfig, ConfigError, load

NO_FLAGS = dict.fromkeys(("host", "grpc_port", "forward", "store_raw_spans", "batch_size"))


def test_defaults_listen_on_loopback_on_the_otlp_ports():
    config = load(None, NO_FLAGS, environ={})
    assert (config.host, config.grpc_port, config.http_port) == ("127.0.0.1", 4317, 4318)
    assert (config.clickhouse_url, config.store_raw_spans, config.forward) == (None, False, None)


def test_file_then_environment_then_flags(tmp_path: Path):
    file = tmp_path / "collector.yaml"
    file.write_text(
        "grpc_port: 5317\nhttp-port: 5318\nstore_raw_spans: true\nforward: grpc://127.0.0.1:1\nbatch_size: 100\n"
    )
    environ = {"LLMLEDGER_GRPC_PORT": "6317", "LLMLEDGER_FORWARD": "http://127.0.0.1:2", "LLMLEDGER_DATA_DIR": "~/d"}
    config = load(file, {**NO_FLAGS, "grpc_port": 7317, "store_raw_spans": None}, environ=environ)
    assert config.grpc_port == 7317  # flag over environment over file
    assert config.http_port == 5318  # file only
    assert config.forward == "http://127.0.0.1:2"  # environment over file
    assert config.store_raw_spans is True
    assert config.batch_size == 100
    assert config.data_dir == Path("~/d").expanduser()
    assert isinstance(config, CollectorConfig)


@pytest.mark.parametrize(
    ("text", "environ", "message"),
    [
        ("grpc_port: 70000\n", {}, "grpc_port"),
        ("colour: blue\n", {}, "unknown setting 'colour'"),
        ("- a list\n", {}, "mapping"),
        ("", {"LLMLEDGER_STORE_RAW_SPANS": "perhaps"}, "environment: store_raw_spans"),
        ("batch_size: 0\n", {}, "batch_size must be"),
        ("grpc_port: [\n", {}, "not valid YAML"),
    ],
)
def test_bad_settings_name_the_setting_and_where_it_came_from(tmp_path: Path, text, environ, message):
    file = tmp_path / "c.yaml"
    file.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load(file, NO_FLAGS, environ=environ)


def test_a_missing_file_is_a_config_error(tmp_path: Path):
    with pytest.raises(ConfigError, match="cannot read"):
        load(tmp_path / "absent.yaml", NO_FLAGS, environ={})


def test_access_settings_come_from_the_environment_and_the_token_is_never_shown():
    environ = {
        "LLMLEDGER_AUTH_TOKEN": "t0ken",
        "LLMLEDGER_TLS_CERT": "~/c.pem",
        "LLMLEDGER_TLS_KEY": "/k.pem",
        "LLMLEDGER_MAX_REQUEST_BYTES": "1024",
    }
    config = load(None, NO_FLAGS, environ=environ)
    assert (config.auth_token, config.tls_cert, config.tls_key) == (
        "t0ken",
        Path("~/c.pem").expanduser(),
        Path("/k.pem"),
    )
    assert config.max_request_bytes == 1024
    assert "t0ken" not in repr(config)
    assert load(None, NO_FLAGS, environ={}).max_request_bytes == 64 * 1024 * 1024


def test_the_memory_limit_is_chosen_at_start_unless_given_and_0_turns_it_off():
    assert load(None, NO_FLAGS, environ={}).memory_limit_mib is None  # the service takes default_limit_mib()
    assert load(None, NO_FLAGS, environ={"LLMLEDGER_MEMORY_LIMIT_MIB": "512"}).memory_limit_mib == 512
    assert (
        load(None, {**NO_FLAGS, "memory_limit_mib": 0}, environ={"LLMLEDGER_MEMORY_LIMIT_MIB": "512"}).memory_limit_mib
        == 0
    )


def test_queue_settings_default_to_a_gibibyte_fsynced_per_batch_and_come_from_environment_or_flags():
    defaults = load(None, NO_FLAGS, environ={})
    assert (defaults.queue_dir, defaults.queue_max_bytes, defaults.queue_fsync) == (None, 1 << 30, "batch")
    assert (defaults.queue_fsync_interval, defaults.clickhouse_timeout) == (1.0, 30.0)
    environ = {
        "LLMLEDGER_QUEUE_DIR": "~/q",
        "LLMLEDGER_QUEUE_MAX_BYTES": "1048576",
        "LLMLEDGER_QUEUE_FSYNC": "interval",
        "LLMLEDGER_CLICKHOUSE_TIMEOUT": "2.5",
    }
    config = load(None, {**NO_FLAGS, "queue_fsync_interval": 0.25}, environ=environ)
    assert (config.queue_dir, config.queue_max_bytes, config.queue_fsync) == (
        Path("~/q").expanduser(),
        1 << 20,
        "interval",
    )
    assert (config.queue_fsync_interval, config.clickhouse_timeout) == (0.25, 2.5)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"LLMLEDGER_TLS_KEY": "/k.pem"}, "go together"),
        ({"LLMLEDGER_AUTH_TOKEN": "a", "LLMLEDGER_AUTH_TOKEN_FILE": "/t"}, "not both"),
        ({"LLMLEDGER_MAX_REQUEST_BYTES": "0"}, "max_request_bytes"),
        ({"LLMLEDGER_MEMORY_LIMIT_MIB": "-1"}, "memory_limit_mib"),
    ],
)
def test_access_settings_that_cannot_work_are_refused(environ, message):
    with pytest.raises(ConfigError, match=message):
        load(None, NO_FLAGS, environ=environ)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"LLMLEDGER_QUEUE_FSYNC": "always"}, "queue_fsync"),
        ({"LLMLEDGER_QUEUE_MAX_BYTES": "100"}, "queue_max_bytes"),
        ({"LLMLEDGER_CLICKHOUSE_TIMEOUT": "0"}, "clickhouse_timeout"),
    ],
)
def test_bad_queue_settings_name_the_setting(environ, message):
    with pytest.raises(ConfigError, match=message):
        load(None, NO_FLAGS, environ=environ)


def test_attributes_budgets_file_and_interval_come_from_file_environment_or_flags(tmp_path: Path):
    file = tmp_path / "collector.yaml"
    file.write_text("attributes: [app.region, k8s.pod.name]\nbudgets_file: ~/budgets.yaml\nbudget_interval: 5\n")
    assert load(file, NO_FLAGS, environ={}).attributes == ("app.region", "k8s.pod.name")

    environ = {"LLMLEDGER_ATTRIBUTES": "a.b, c.d,", "LLMLEDGER_BUDGETS_FILE": "/etc/llmledger/budgets.yaml"}
    config = load(file, NO_FLAGS, environ=environ)
    assert config.attributes == ("a.b", "c.d")
    assert config.budgets_file == Path("/etc/llmledger/budgets.yaml")  # the variable the instrumentation reads
    assert config.budget_interval == 5.0

    assert load(None, {**NO_FLAGS, "attributes": ["x.y"]}, environ=environ).attributes == ("x.y",)
    with pytest.raises(ConfigError, match="budget_interval"):
        load(None, {**NO_FLAGS, "budget_interval": 0}, environ={})
