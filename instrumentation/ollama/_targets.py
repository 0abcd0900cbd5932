# SPDX-License-Identifier: Apache-2.0
"""The server an Ollama client talks to: the provider is `ollama` wherever it runs, unless
`LLMLEDGER_PROVIDER_HOSTS` names another for the host (a gateway in front of some other service)."""

from __future__ import annotations

from typing import Any

from .._shared.config import Config
from .._shared.wrapping import Target

PROVIDER = "ollama"


class Locator:
    """Resolves an Ollama client to its `Target`, cached per (host, port) of its httpx client's base URL."""

    def __init__(self, config: Config) -> None:
        self._overrides = config.provider_hosts
        self._cache: dict[tuple[str, int | None], Target] = {}

    def __call__(self, client: Any) -> Target:
        url = client._client.base_url
        key = (url.host, url.port)
        target = self._cache.get(key)
        if target is None:
            host, port = key
            provider = self._overrides.get(f"{host}:{port}") or self._overrides.get(host) or PROVIDER
            target = self._cache[key] = Target(provider, host or None, port)
        return target
