# SPDX-License-Identifier: Apache-2.0
"""Which provider serves a `mistralai` client: Mistral's API (`mistral_ai`), unless `LLMLEDGER_PROVIDER_HOSTS`
names another for the host of its server URL (a gateway or proxy in front of it)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from .._shared.config import Config
from .._shared.wrapping import Target

PROVIDER = "mistral_ai"


class Locator:
    """Resolves a resource (`chat`, `fim`, `embeddings`) to its `Target`, cached per server URL."""

    def __init__(self, config: Config) -> None:
        self._overrides = config.provider_hosts
        self._cache: dict[str, Target] = {}

    def __call__(self, resource: Any) -> Target:
        url, _ = resource.sdk_configuration.get_server_details()
        target = self._cache.get(url)
        if target is None:
            parts = urlsplit(url)
            host = parts.hostname.lower() if parts.hostname else None
            port = parts.port
            explicit = host and (self._overrides.get(f"{host}:{port}") or self._overrides.get(host))
            target = self._cache[url] = Target(explicit or PROVIDER, host, port)
        return target
