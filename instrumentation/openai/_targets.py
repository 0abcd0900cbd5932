# SPDX-License-Identifier: Apache-2.0
"""Which provider serves an OpenAI SDK client, told by its base URL.

The OpenAI SDK talks to many OpenAI-compatible services; the bill depends on which one. Known hosts map to
their `gen_ai.provider.name`; local vLLM (port 8000) and Ollama (port 11434) are recognised by their
default ports; anything else is an OpenAI-compatible provider named `openai_compatible`, priced by model
where the model is known. `LLMLEDGER_PROVIDER_HOSTS` names gateways and proxies (`host[:port]=provider`).
Every host is asked for usage on streams except those in `REFUSES_STREAM_OPTIONS`, each named with its reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._shared.config import Config
from .._shared.wrapping import Target

UNKNOWN_PROVIDER = "openai_compatible"

# Exact hosts, then suffixes, then local servers by their default port.
_HOSTS: Mapping[str, str] = {
    "api.openai.com": "openai",
    "api.groq.com": "groq",
    "api.deepseek.com": "deepseek",
    "api.together.xyz": "together",
    "api.together.ai": "together",
    "openrouter.ai": "openrouter",
    "api.mistral.ai": "mistral_ai",
    "api.x.ai": "x_ai",
    "api.perplexity.ai": "perplexity",
    "api.fireworks.ai": "fireworks",
    "api.cerebras.ai": "cerebras",
    "generativelanguage.googleapis.com": "gcp.gemini",
}
_SUFFIXES: tuple[tuple[str, str], ...] = (
    (".openai.azure.com", "azure.ai.openai"),
    (".cognitiveservices.azure.com", "azure.ai.openai"),
    (".services.ai.azure.com", "azure.ai.openai"),
    (".openrouter.ai", "openrouter"),
)
_LOCAL_PORTS: Mapping[int, str] = {8000: "vllm", 11434: "ollama"}
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0", "host.docker.internal"}

# Streams ask for usage (`stream_options={"include_usage": true}`) on every host but these, which refuse the
# parameter with an error; `LLMLEDGER_OPENAI_INCLUDE_USAGE=true` sends it to them all the same.
REFUSES_STREAM_OPTIONS: Mapping[str, str] = {
    # 422 `extra_forbidden` at body.stream_options: its schema forbids unknown fields. Its streams end with a usage
    # chunk without being asked.
    "mistral_ai": "answers 422 extra_forbidden for stream_options; sends usage on the last chunk unasked",
    # 400 "invalid parameter" for stream_options; its chunks carry usage unasked.
    "perplexity": "answers 400 invalid parameter for stream_options; sends usage on every chunk unasked",
}


class Locator:
    """Resolves a resource instance to its `Target`, cached per (host, port).

    The last URL object seen is remembered with its target: a client keeps one URL for its life, and reading
    `host` and `port` off it decodes them again on every call.
    """

    def __init__(self, config: Config) -> None:
        self._overrides = config.provider_hosts
        self._cache: dict[tuple[str, int | None], Target] = {}
        self._last: tuple[Any, Target | None] = (None, None)  # held, so its id cannot be reused

    def __call__(self, resource: Any) -> Target:
        client = resource._client
        # The stored URL, not the `base_url` property: in OpenAI SDK 3.x the property runs an import statement and
        # a function on every call, for the same value.
        url = getattr(client, "_base_url", None)
        if url is None:
            url = client.base_url
        last_url, last_target = self._last
        if url is last_url and last_target is not None:
            return last_target
        key = (url.host, url.port)
        target = self._cache.get(key)
        if target is None:
            target = self._cache[key] = self._resolve(*key)
        self._last = (url, target)
        return target

    def _resolve(self, host: str, port: int | None) -> Target:
        host = host.lower()
        provider = (
            self._overrides.get(f"{host}:{port}")
            or self._overrides.get(host)
            or _HOSTS.get(host)
            or _by_suffix(host)
            or _local(host, port)
            or UNKNOWN_PROVIDER
        )
        return Target(provider, host, port, provider not in REFUSES_STREAM_OPTIONS)


def _by_suffix(host: str) -> str | None:
    for suffix, value in _SUFFIXES:
        if host.endswith(suffix):
            return value
    return None


def _local(host: str, port: int | None) -> str | None:
    if host in _LOCAL_HOSTS and port is not None:
        return _LOCAL_PORTS.get(port)
    return None
