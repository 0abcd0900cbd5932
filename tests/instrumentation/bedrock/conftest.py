# SPDX-License-Identifier: Apache-2.0
from __future__ import annotations

import pytest

from llmledger.instrumentation.bedrock import BedrockInstrumentor
from tests.instrumentation.instrumenting import instrumented_fixture


@pytest.fixture(autouse=True)
def _no_aws_configuration(monkeypatch, tmp_path):
    """botocore reads no credentials, region or config of the machine: each client gets fake keys and its region."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


instrumented = instrumented_fixture(BedrockInstrumentor)
