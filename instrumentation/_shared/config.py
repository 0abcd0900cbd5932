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
    # Ask OpenAI-compatible streams for usage: None leaves it to the host (see openai/_targets.py), True and False
    # force it on or off.
    include_usage: bool | None = None
    # `host[:port]` → provider name, for gateways and proxies that front a known provider.
    provider_hosts: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Config:
        env = os.environ if environ is None else environ
        return cls(
            capture_content=env.get(CAPTURE_CONTENT_ENV, "").strip().lower() in _TRUE,
            include_usage=_tristate(env.get(INCLUDE_USAGE_ENV, "")),
            provider_hosts=_parse_hosts(env.get(PROVIDER_HOSTS_ENV, "")),
        )


def _tristate(value: str) -> bool | None:
    value = value.strip().lower()
    return True if value in _TRUE else False if value in _FALSE else None


def _parse_hosts(value: str) -> dict[str, str]:
    hosts: dict[str, str] = {}
    for item in value.split(","):
        host, sep, provider = item.partition("=")
        if sep and host.strip() and provider.strip():
            hosts[host.strip().lower()] = provider.strip()
    return hosts
