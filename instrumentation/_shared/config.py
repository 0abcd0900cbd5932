# SPDX-License-Identifier: Apache-2.0
"""Environment switches, read once per instrumentor so the hot path never touches `os.environ`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

CAPTURE_CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
INCLUDE_USAGE_ENV = "LLMLEDGER_OPENAI_INCLUDE_USAGE"
PROVIDER_HOSTS_ENV = "LLMLEDGER_PROVIDER_HOSTS"

_FALSE = {"false", "0", "no", "off"}
_TRUE = {"true", "1", "yes", "on"}


@dataclass(frozen=True, slots=True)
class Config:
    capture_content: bool = False
    include_usage: bool = True
    # `host[:port]` → provider name, for gateways and proxies that front a known provider.
    provider_hosts: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Config:
        env = os.environ if environ is None else environ
        return cls(
            capture_content=env.get(CAPTURE_CONTENT_ENV, "").strip().lower() in _TRUE,
            include_usage=env.get(INCLUDE_USAGE_ENV, "").strip().lower() not in _FALSE,
            provider_hosts=_parse_hosts(env.get(PROVIDER_HOSTS_ENV, "")),
        )


def _parse_hosts(value: str) -> dict[str, str]:
    hosts: dict[str, str] = {}
    for item in value.split(","):
        host, sep, provider = item.partition("=")
        if sep and host.strip() and provider.strip():
            hosts[host.strip().lower()] = provider.strip()
    return hosts
