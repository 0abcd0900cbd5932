# SPDX-License-Identifier: Apache-2.0
"""Which provider serves an OpenAI SDK client, told by its base URL.

The OpenAI SDK talks to many OpenAI-compatible services; the bill depends on which one. Known hosts map to
their `gen_ai.provider.name`; local vLLM (port 8000) and Ollama (port 11434) are recognised by their
default ports; anything else is an OpenAI-compatible provider named `openai_compatible`, priced by model
where the model is known. `LLMLEDGER_PROVIDER_HOSTS` names gateways and proxies (`host[:port]=provider`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._shared.config import Config
from .._shared.wrapping import Target

UNKNOWN_PROVIDER = "openai_compatible"

# Exact hosts, then suffixes. Values: provider name, and whether the endpoint accepts `stream_options`.
_HOSTS: Mapping[str, tuple[str, bool]] = {
    "api.openai.com": ("openai", True),
    "api.groq.com": ("groq", False),
    "api.deepseek.com": ("deepseek", True),
    "api.together.xyz": ("together", True),
    "api.together.ai": ("together", True),
    "openrouter.ai": ("openrouter", True),
    "api.mistral.ai": ("mistral_ai", False),
    "api.x.ai": ("x_ai", True),
    "api.perplexity.ai": ("perplexity", False),
    "api.fireworks.ai": ("fireworks", True),
    "api.cerebras.ai": ("cerebras", True),
    "generativelanguage.googleapis.com": ("gcp.gemini", True),
}
_SUFFIXES: tuple[tuple[str, tuple[str, bool]], ...] = (
    (".openai.azure.com", ("azure.ai.openai", True)),
    (".cognitiveservices.azure.com", ("azure.ai.openai", True)),
    (".services.ai.azure.com", ("azure.ai.openai", True)),
    (".openrouter.ai", ("openrouter", True)),
)
_LOCAL_PORTS: Mapping[int, tuple[str, bool]] = {8000: ("vllm", True), 11434: ("ollama", True)}
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0", "host.docker.internal"}


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
        explicit = self._overrides.get(f"{host}:{port}") or self._overrides.get(host)
        if explicit:
            return Target(explicit, host, port, explicit in {"openai", "azure.ai.openai", "deepseek", "vllm"})
        provider, accepts = _HOSTS.get(host) or _by_suffix(host) or _local(host, port) or (UNKNOWN_PROVIDER, False)
        return Target(provider, host, port, accepts)


def _by_suffix(host: str) -> tuple[str, bool] | None:
    for suffix, value in _SUFFIXES:
        if host.endswith(suffix):
            return value
    return None


def _local(host: str, port: int | None) -> tuple[str, bool] | None:
    if host in _LOCAL_HOSTS and port is not None:
        return _LOCAL_PORTS.get(port)
    return None
