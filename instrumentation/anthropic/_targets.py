# SPDX-License-Identifier: Apache-2.0
"""Which platform serves an Anthropic SDK client: Anthropic itself, Amazon Bedrock or Google Vertex AI.

The same `Messages` resource serves `Anthropic`, `AnthropicBedrock` and `AnthropicVertex`; the bill comes from
the platform, at that platform's price for the model. The client's class says which platform it talks to
(whatever base URL a proxy gives it); `LLMLEDGER_PROVIDER_HOSTS` names the provider behind other hosts.
"""

from __future__ import annotations

from typing import Any

from .._shared.config import Config
from .._shared.wrapping import Target

# Client class name prefixes → provider: `AnthropicBedrock`, `AsyncAnthropicBedrockMantle`, `AnthropicVertex`, …
_PLATFORMS = (("Bedrock", "aws.bedrock"), ("Vertex", "gcp.vertex_ai"))


class Locator:
    """Resolves a resource instance to its `Target`, cached per (client class, host, port)."""

    def __init__(self, config: Config) -> None:
        self._overrides = config.provider_hosts
        self._cache: dict[tuple[type, str, int | None], Target] = {}

    def __call__(self, resource: Any) -> Target:
        client = resource._client
        url = client.base_url
        key = (type(client), url.host, url.port)
        target = self._cache.get(key)
        if target is None:
            target = self._cache[key] = self._resolve(*key)
        return target

    def _resolve(self, client_class: type, host: str, port: int | None) -> Target:
        host = host.lower()
        explicit = self._overrides.get(f"{host}:{port}") or self._overrides.get(host)
        if explicit:
            return Target(explicit, host, port)
        name = client_class.__name__
        provider = next((p for marker, p in _PLATFORMS if marker in name), "anthropic")
        return Target(provider, host, port)
